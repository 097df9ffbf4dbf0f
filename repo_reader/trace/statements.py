"""Which statement each source line belongs to, and the names that statement binds: the table the
line recorder (`trace/lines.py`) reads to know when a statement has finished and what to look at.

Child side, standard library only: one `ast` parse per file, cached.
"""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: `line` is its first line; `targets` the plain names it binds, in order."""

    line: int
    targets: tuple[str, ...]
    returns: bool = False


@lru_cache(maxsize=256)
def statement_table(filename: str) -> dict[int, Statement]:
    """Every line of `filename` that lies in a statement → that (innermost) statement; {} when unreadable."""
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
    except OSError:  # code compiled from a string (a notebook cell, a README block) is in linecache
        data = "".join(linecache.getlines(filename)).encode()
    try:
        tree = ast.parse(data, filename)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    table: dict[int, Statement] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            _claim(table, node)
    return table


def _claim(table: dict[int, Statement], node: ast.stmt) -> None:
    """Map `node`'s own lines (a compound statement's header only) to it; an inner statement, walked
    later than the one around it, claims its lines after it."""
    body = _first_body_line(node)
    end = (body - 1) if body is not None else (node.end_lineno or node.lineno)
    statement = Statement(node.lineno, bound_names(node), isinstance(node, ast.Return))
    for line in range(node.lineno, max(end, node.lineno) + 1):
        previous = table.get(line)
        if previous is None or previous.line <= node.lineno:
            table[line] = statement


def _first_body_line(node: ast.stmt) -> int | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.body[0].lineno if node.body else None
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return body[0].lineno
    return None


def bound_names(node: ast.stmt) -> tuple[str, ...]:
    """The plain names a statement binds: assignment targets, a `for` target, `with ... as name`."""
    if isinstance(node, ast.Assign):
        targets: list[ast.expr] = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target] if not isinstance(node, ast.AnnAssign) or node.value is not None else []
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    else:
        return ()
    names: list[str] = []
    for target in targets:
        names.extend(_names(target))
    return tuple(dict.fromkeys(names))


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _names(element)]
    return []
