"""Repo-wide attribute usage, collected file by file and judged at the end (vulture's way).

Which attributes each class reads through `self`, which attribute names are read on anything else,
and which strings appear (for `getattr(self, "name")`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from repo_reader.lint.context import LintContext

GENERIC_ACCESS = frozenset({"children", "named_children", "modules", "named_modules", "_modules", "__dict__",
                            "parameters", "named_parameters", "buffers", "named_buffers", "state_dict", "apply"})


@dataclass(slots=True)
class Usage:
    self_reads: dict[str, set[str]] = field(default_factory=dict)  # class qualname → attributes
    other_reads: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    generic: set[str] = field(default_factory=set)  # classes that walk their own children

    def collect(self, context: LintContext) -> None:
        owners = {id(node): f"{context.module}.{name}" for name, node in context.class_nodes}
        self._visit(context.tree, None, owners)

    def _visit(self, node: ast.AST, owner: str | None, owners: dict[int, str]) -> None:
        for child in ast.iter_child_nodes(node):
            current = owners.get(id(child), owner)
            if isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Load):
                if isinstance(child.value, ast.Name) and child.value.id == "self" and current:
                    self.self_reads.setdefault(current, set()).add(child.attr)
                    if child.attr in GENERIC_ACCESS:
                        self.generic.add(current)
                else:
                    self.other_reads.add(child.attr)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str) and len(child.value) < 64:
                self.strings.add(child.value)
            elif isinstance(child, ast.Call) and current and _dynamic_getattr(child):
                self.generic.add(current)  # `getattr(self, name)`: any attribute may be read
            self._visit(child, current, owners)


def _dynamic_getattr(call: ast.Call) -> bool:
    """`getattr(self, name)` / `getattr(self, f"layer{i}")`: a name computed at run time."""
    return isinstance(call.func, ast.Name) and call.func.id == "getattr" and len(call.args) >= 2 and \
        isinstance(call.args[0], ast.Name) and call.args[0].id == "self" and not isinstance(call.args[1], ast.Constant)
