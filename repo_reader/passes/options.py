"""Command-line options of an entry point: argparse, click, typer, fire, LightningCLI, Hydra and
`--key=value` configurator scripts, each with its default and help as written in the source.
"""

from __future__ import annotations

from dataclasses import replace

import ast
import re

from repo_reader.model import Location, Option
from repo_reader.scan.facts import DefFact, ModuleFacts, OptionFact

YAML_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)\s*:\s*(?P<value>[^#\n]*?)\s*(?:#.*)?$")
YAML_DEFAULT = re.compile(r"^\s*-\s*(?:override\s+)?(?P<key>[\w/.-]+)\s*:\s*(?P<value>[\w/.-]+)")


def from_argparse(found: list[tuple[ModuleFacts, OptionFact, int | None]],
                  overrides: dict[str, str] | None = None) -> list[Option]:
    """One Option per destination: `--flip`/`--no-flip` pairs (`store_true` and `store_false` on one
    dest, or `BooleanOptionalAction`) are one option listing both flags. Each fact comes with the column
    it is declared at, or None for the column of its `add_argument(` call."""
    options: dict[str, Option] = {}
    for facts, fact, col in found:
        name = next((flag for flag in fact.flags if flag.startswith("--")), fact.flags[0])
        flags = fact.flags
        default = fact.default
        if default is None and fact.action in ("store_true", "store_false"):
            default = "False" if fact.action == "store_true" else "True"
        if fact.action and fact.action.endswith("BooleanOptionalAction"):
            flags = (*flags, *(f"--no-{flag[2:]}" for flag in flags if flag.startswith("--")))
            default = "None" if default is None else default
        known = options.get(fact.dest)
        if known is not None:
            extra = tuple(flag for flag in flags if flag not in known.flags)
            if extra:
                options[fact.dest] = replace(known, flags=(*known.flags, *extra))
            continue
        if col is None:
            col = next((c.col for c in facts.calls if c.line == fact.line and c.callee.endswith("add_argument")), 1)
        options[fact.dest] = Option(name, flags, default, fact.help, fact.type, fact.required,
                                    fact.choices, fact.line, _at(facts, fact.line, col))
    for dest, value in (overrides or {}).items():
        if dest in options:
            options[dest] = replace(options[dest], default=value)
    return list(options.values())


def _at(facts: ModuleFacts | None, line: int, col: int) -> Location | None:
    if facts is None:
        return None
    path, shown = facts.where(line)
    return Location(path, shown, col)


def from_signature(definition: DefFact, prefix: str = "--", facts: ModuleFacts | None = None) -> list[Option]:
    """Options a function's parameters become (fire, typer, LightningCLI's `--model.x`)."""
    at = _at(facts, definition.line, definition.col)
    options = []
    for param in definition.params:
        if param.name in ("self", "cls") or param.kind in ("vararg", "varkw"):
            continue
        default, help_text = _typer_default(param.default)
        flag = prefix + (param.name.replace("_", "-") if prefix == "--" else param.name)
        options.append(Option(flag, (flag,), default, help_text, param.annotation or None,
                              param.default is None, (), definition.line, at))
    return options


def _typer_default(text: str | None) -> tuple[str | None, str | None]:
    """`typer.Option(0.1, help="lr")` → ("0.1", "lr"); a plain default stays as it is."""
    if text is None or "Option(" not in text and "Argument(" not in text:
        return text, None
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text, None
    if not isinstance(call, ast.Call):
        return text, None
    default = ast.unparse(call.args[0]) if call.args else None
    help_text = next((k.value.value for k in call.keywords if k.arg == "help" and isinstance(k.value, ast.Constant)), None)
    return default, help_text if isinstance(help_text, str) else None


def from_click(definition: DefFact, facts: ModuleFacts | None = None) -> list[Option]:
    at = _at(facts, definition.line, definition.col)
    options = []
    for decorator in definition.decorators:
        if not re.match(r"(\w+\.)?(option|argument)\(", decorator):
            continue
        try:
            call = ast.parse(decorator, mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(call, ast.Call):
            continue
        flags = tuple(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if not flags:
            continue
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        help_node = keywords.get("help")
        help_text = help_node.value if isinstance(help_node, ast.Constant) and isinstance(help_node.value, str) else None
        default = ast.unparse(keywords["default"]) if "default" in keywords else None
        name = next((flag for flag in flags if flag.startswith("--")), flags[0])
        options.append(Option(name, flags, default, help_text, ast.unparse(keywords["type"]) if "type" in keywords else None,
                              False, (), definition.line, at))
    return options


def from_module_settings(facts: ModuleFacts) -> list[Option]:
    """nanoGPT-style scripts: module-level literals before the line that hands `globals()` over."""
    override_line = next(
        (call.line for call in facts.calls if not call.scope and ("globals()" in call.refs or call.callee == "exec")),
        None,
    )
    if override_line is None:
        return []
    return [
        Option(f"--{assign.target}", (f"--{assign.target}",), assign.value, None, None, False, (), assign.line,
               _at(facts, assign.line, assign.col))
        for assign in facts.assigns
        if assign.kind == "constant" and not assign.scope and assign.line < override_line
        and not assign.target.startswith("_")
    ]


def from_yaml(text: str, path: str | None = None) -> list[Option]:
    """Top-level keys of a (Hydra) YAML config and its defaults list, as `key=value` overrides."""
    options = []
    in_defaults = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("defaults:"):
            in_defaults = True
            continue
        if in_defaults:
            match = YAML_DEFAULT.match(line)
            if match and not match.group("key").startswith("_"):
                options.append(Option(match.group("key"), (match.group("key"),), match.group("value"),
                                      "config group", None, False, (), number,
                                      Location(path, number, line.index(match.group("key")) + 1) if path else None))
                continue
            if line.strip().startswith("-") or not line.strip():
                continue
            in_defaults = False
        match = YAML_KEY.match(line)
        if match and not line.startswith(" "):
            value = match.group("value") or None
            options.append(Option(match.group("key"), (match.group("key"),), value, None, None, False, (), number,
                                  Location(path, number, 1) if path else None))
    return options
