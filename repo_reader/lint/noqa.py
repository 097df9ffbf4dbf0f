"""`# noqa` comments: `# noqa: RR101, RR2` silences those codes (or prefixes) on its line; a bare
`# noqa` silences every rule there."""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?", re.IGNORECASE)
ALL = frozenset({"*"})


def noqa_lines(text: str) -> dict[int, frozenset[str]]:
    """Line → silenced codes (`{"*"}` for a bare noqa). Only real comments count, not strings."""
    if "noqa" not in text.lower():
        return {}
    found: dict[int, frozenset[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                match = _NOQA.search(token.string)
                if match:
                    codes = match.group("codes")
                    found[token.start[0]] = frozenset(re.split(r"[\s,]+", codes.upper().strip())) if codes else ALL
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    return found


def silenced(codes: frozenset[str] | None, code: str) -> bool:
    if not codes:
        return False
    return codes is ALL or "*" in codes or any(code.startswith(prefix) for prefix in codes)
