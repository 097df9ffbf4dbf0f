"""Commands shown in READMEs, shell scripts and Makefiles, and console scripts from packaging files.

Pure text processing over files already read by `scan`; nothing is executed.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass

LAUNCHER = (
    r"(?:CUDA_VISIBLE_DEVICES=\S+\s+|[A-Z_]+=\S+\s+)*"
    r"(?:python3?\s+-m\s+torch\.distributed\.(?:launch|run)|python3?(?:\s+-u)?|torchrun|accelerate\s+launch|deepspeed)"
)
COMMAND = re.compile(LAUNCHER + r"(?:\s+--?[\w.-]+(?:[= ](?!-)\S+)?)*?\s+(?:-m\s+(?P<module>[\w.]+)|(?P<script>[\w./-]+\.py))(?P<rest>[^\n`]*)")
ASSIGNMENT = re.compile(r"""^(?:export\s+)?(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>"[^"]*"|'[^']*'|\S+)\s*$""")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)")
CONSOLE_LINE = re.compile(r"""["']?\s*([\w.-]+)\s*=\s*([\w.]+)\s*:\s*([\w.]+)""")


@dataclass(frozen=True, slots=True)
class ShownCommand:
    text: str  # the whole command line as shown
    target: str  # the script path (`tools/train.py`) or module (`pkg.train`) it runs
    is_module: bool
    source: str  # where it was shown (README.md, scripts/train.sh)


@dataclass(frozen=True, slots=True)
class ConsoleScript:
    name: str
    module: str
    function: str
    source: str


def find_shown_commands(texts: dict[str, str]) -> list[ShownCommand]:
    found: list[ShownCommand] = []
    for path in sorted(texts, key=lambda p: (not p.lower().startswith("readme"), p)):
        lower = path.lower()
        if not (lower.endswith((".md", ".rst", ".txt", ".sh", ".bash")) or "makefile" in lower or "readme" in lower):
            continue
        lines = _joined_lines(texts[path])
        later = _assignments(lines)  # a variable defined after the command, when it is not before
        variables: dict[str, str] = {}  # `MODEL_FLAGS="--image_size 64 ..."` shown before the command
        for line in lines:
            assignment = ASSIGNMENT.match(line)
            if assignment:
                variables[assignment.group("name")] = assignment.group("value").strip("'\"")
                continue
            for match in COMMAND.finditer(line):
                target = match.group("module") or match.group("script")
                text = _expanded(" ".join(match.group(0).split()), later | variables)
                text = text.rstrip("`'\"")
                found.append(ShownCommand(text, target.removeprefix("./"), bool(match.group("module")), path))
    return found


def _assignments(lines: list[str]) -> dict[str, str]:
    """Each shell variable's first value in the file."""
    found: dict[str, str] = {}
    for line in lines:
        assignment = ASSIGNMENT.match(line)
        if assignment:
            found.setdefault(assignment.group("name"), assignment.group("value").strip("'\""))
    return found


def _expanded(command: str, variables: dict[str, str]) -> str:
    """`python train.py $MODEL_FLAGS` with the value the same file gave MODEL_FLAGS; unknown ones stay."""
    return VARIABLE.sub(lambda match: variables.get(match.group(1) or match.group(2), match.group(0)), command)


def _joined_lines(text: str) -> list[str]:
    """Lines with shell continuations (`\\` at the end) joined; prompts and backticks stripped."""
    lines: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip().removeprefix("$ ").removeprefix("> ").strip("`")
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        lines.append(buffer + line)
        buffer = ""
    if buffer:
        lines.append(buffer)
    return lines


def find_console_scripts(texts: dict[str, str]) -> list[ConsoleScript]:
    scripts: list[ConsoleScript] = []
    for path, text in sorted(texts.items()):
        name = path.rsplit("/", 1)[-1]
        if name == "pyproject.toml":
            scripts += _from_pyproject(path, text)
        elif name in ("setup.py", "setup.cfg"):
            section = text.split("console_scripts", 1)[1] if "console_scripts" in text else ""
            for match in CONSOLE_LINE.finditer(section[:4000]):
                scripts.append(ConsoleScript(match.group(1), match.group(2), match.group(3), path))
    return scripts


def _table(data: object, *keys: str) -> object:
    """`data[k1][k2]...`, or {} as soon as a level is missing or not a table (`[tool] poetry = 5`)."""
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data


@functools.lru_cache(maxsize=64)
def _parse_toml(text: str) -> tuple[dict[str, object], str | None]:
    """The document, or {} and why it could not be read (parsed once for the scripts and the warning)."""
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as error:
        return {}, f"not valid TOML ({error}); its console scripts are not read"
    except RecursionError:  # 5,000-deep nested arrays exhaust the parser's stack
        return {}, "not valid TOML (nested too deeply); its console scripts are not read"


def toml_problems(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(path, message) for each pyproject.toml that does not parse."""
    found = []
    for path, text in sorted(texts.items()):
        if path.rsplit("/", 1)[-1] == "pyproject.toml":
            problem = _parse_toml(text)[1]
            if problem is not None:
                found.append((path, problem))
    return found


def _from_pyproject(path: str, text: str) -> list[ConsoleScript]:
    data = _parse_toml(text)[0]
    tables = [_table(data, "project", "scripts"), _table(data, "project", "gui-scripts"),
              _table(data, "tool", "poetry", "scripts")]
    scripts = []
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, spec in table.items():
            if isinstance(spec, str) and ":" in spec:
                module, function = spec.split(":", 1)
                scripts.append(ConsoleScript(name, module.strip(), function.strip(), path))
    return scripts
