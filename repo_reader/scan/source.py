"""Reading one file robustly: encoding cookies, BOMs, undecodable bytes, notebooks, binaries.

Imports only the standard library.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass

MAX_FILE_BYTES = 1024 * 1024  # generated tables and vendored blobs beyond this are skipped
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # notebooks carry their outputs (images): their code is what counts

_MAGIC = re.compile(r"^\s*([%!?]|\w+\s*\?\s*$)")
_SURROGATE = re.compile("[\ud800-\udfff]")  # `"\\ud800"` in JSON: no UTF-8 for it, so no parse


@dataclass(frozen=True, slots=True)
class Source:
    """The text to parse, and for a notebook where each code cell starts in that text."""

    text: str
    cell_starts: tuple[int, ...] = ()  # 1-based first line of each code cell, in cell order
    cell_numbers: tuple[int, ...] = ()  # 1-based index of each code cell among all cells
    note: str | None = None  # a warning worth showing even though the file was read


class Unreadable(Exception):
    """The file cannot be analysed; the message says why in one line."""


def decode_python(data: bytes) -> tuple[str, str | None]:
    """Decode as Python would (PEP 263 cookie, BOM); fall back to replacement characters."""
    if b"\x00" in data:
        raise Unreadable("binary file (contains NUL bytes); skipped")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        if "invalid or missing encoding declaration" in str(error.msg):
            return text, "not valid UTF-8 and no encoding declaration; undecodable bytes replaced"
        return text, f"bad encoding declaration ({error.msg}); read as UTF-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = data.decode("utf-8", errors="replace")
        return text.removeprefix("\ufeff"), f"not valid {encoding} text; undecodable bytes replaced"
    return text.removeprefix("\ufeff"), None


def read_notebook(data: bytes) -> Source:
    """Join a notebook's code cells into one module; IPython magics become comments. A cell whose
    source is neither text nor a list of text is left out, and the note says which."""
    try:
        notebook = json.loads(data.decode("utf-8", errors="replace"))
    except RecursionError:
        raise Unreadable("not a valid Jupyter notebook (nested too deeply)") from None
    except ValueError:
        notebook = None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise Unreadable("not a valid Jupyter notebook (no cell list)")
    lines: list[str] = []
    starts: list[int] = []
    numbers: list[int] = []
    malformed: list[int] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell.get("source", ""))
        if text is None:
            malformed.append(number)
            continue
        starts.append(len(lines) + 1)
        numbers.append(number)
        for line in text.splitlines():
            lines.append("# " + line if _MAGIC.match(line) else line)
        lines.append("")
    note = None
    if malformed:
        shown = ", ".join(str(number) for number in malformed[:5]) + (", ..." if len(malformed) > 5 else "")
        note = f"code cell(s) {shown} have a source that is not text; left out"
    return Source("\n".join(lines) + "\n", tuple(starts), tuple(numbers), note)


def _cell_text(source: object) -> str | None:
    """A cell's source (a string, or a list of strings), lone surrogates replaced; None when malformed."""
    if isinstance(source, list) and all(isinstance(piece, str) for piece in source):
        text = "".join(source)
    elif isinstance(source, str):
        text = source
    else:
        return None
    return _SURROGATE.sub("\ufffd", text)


def read_source(data: bytes, is_notebook: bool) -> Source:
    """Python files over 1 MiB are generated tables; a notebook's size is mostly outputs, so its code counts."""
    if is_notebook and len(data) <= MAX_NOTEBOOK_BYTES:
        source = read_notebook(data)
        if len(source.text) > MAX_FILE_BYTES:
            raise Unreadable(f"notebook code is {len(source.text) / 1e6:.1f} MB, over the 1024 KiB limit; skipped")
        return source
    limit = MAX_NOTEBOOK_BYTES if is_notebook else MAX_FILE_BYTES
    if len(data) > limit:
        raise Unreadable(f"file is {len(data) / 1e6:.1f} MB, over the {limit // 1024} KiB limit; skipped")
    text, note = decode_python(data)
    return Source(text, note=note)
