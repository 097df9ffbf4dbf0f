"""What dicts of settings hold and which options they become, and which `if NAME == CONSTANT` branch a
return sits in: the facts `passes/dict_options.py` and `index/types.py` read. Imports only the stdlib
and `scan.facts`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from repo_reader.scan.facts import BranchReturn, DictEntry, DictFact, DictOptionFact

Text = Callable[[ast.AST], str]
Dotted = Callable[[ast.expr], str]
CONSTANTS = (int, float, str, bool, type(None))


class DictRecorder:
    """Records `DictFact`s, `DictOptionFact`s and `BranchReturn`s while the collector walks a module."""

    def __init__(self, text: Text, dotted: Dotted) -> None:
        self.text = text
        self.dotted = dotted
        self.dicts: list[DictFact] = []
        self.options: list[DictOptionFact] = []
        self.branch_returns: list[BranchReturn] = []
        self.loops: list[tuple[str, str]] = []  # (key name, dict source) of the `for k, v in D.items()` loops open
        self.branches: list[tuple[str, str]] = []  # (name, repr of constant) of the `if name == C:` bodies open

    # -- dicts ---------------------------------------------------------------------------------------
    def bind(self, scope: str, target: ast.expr, value: ast.expr, line: int) -> None:
        """`name = dict(a=1, **other)` or `name = {"a": 1}`."""
        if isinstance(target, ast.Name):
            self._record(scope, target.id, "bind", value, line)

    def update(self, scope: str, node: ast.Call) -> None:
        """`name.update(dict(a=1))`, `name.update(defaults())`, `name.update(other)`, `name.update(a=1)`."""
        func = node.func
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return
        name = func.value.id
        if not node.args and node.keywords:
            self._keywords(scope, name, "update", node.keywords, node.lineno)
        elif len(node.args) == 1 and not node.keywords and isinstance(node.args[0], (ast.Name, ast.Call, ast.Dict)):
            if not self._record(scope, name, "update", node.args[0], node.lineno):
                merged = self.dotted(node.args[0])
                if merged:
                    self.dicts.append(DictFact(scope, name, "update", merged, (), node.lineno))

    def returned(self, scope: str, value: ast.expr, line: int) -> None:
        self._record(scope, "<return>", "bind", value, line)

    def _record(self, scope: str, target: str, kind: str, value: ast.expr, line: int) -> bool:
        """Facts for a dict literal bound to (or merged into) `target`; False when `value` is none."""
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict" \
                and not value.args:
            self._keywords(scope, target, kind, value.keywords, line)
            return True
        if not isinstance(value, ast.Dict):
            return False
        entries: list[DictEntry] = []
        for key, item in zip(value.keys, value.values):
            if key is None:  # `{**other}`
                kind = self._flush(scope, target, kind, entries, line)
                self._merge(scope, target, kind, item, line)
                kind = "update"
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                entries.append(self._entry(key.value, item))
        self._flush(scope, target, kind, entries, line)
        return True

    def _keywords(self, scope: str, target: str, kind: str, keywords: list[ast.keyword], line: int) -> None:
        entries: list[DictEntry] = []
        for keyword in keywords:
            if keyword.arg is None:  # `dict(**other, a=1)`
                kind = self._flush(scope, target, kind, entries, line)
                self._merge(scope, target, kind, keyword.value, line)
                kind = "update"
            else:
                entries.append(self._entry(keyword.arg, keyword.value))
        self._flush(scope, target, kind, entries, line)

    def _flush(self, scope: str, target: str, kind: str, entries: list[DictEntry], line: int) -> str:
        """Records the entries gathered so far (a bare `dict()` binds an empty dict); the kind that follows."""
        if entries or kind == "bind":
            self.dicts.append(DictFact(scope, target, kind, "", tuple(entries), line))
            entries.clear()
            return "update"
        return kind

    def _merge(self, scope: str, target: str, kind: str, value: ast.expr, line: int) -> None:
        merged = self.dotted(value)
        if merged:
            self.dicts.append(DictFact(scope, target, kind, merged, (), line))

    def _entry(self, key: str, value: ast.expr) -> DictEntry:
        return DictEntry(key, self.text(value), literal_kind(value), value.lineno, value.col_offset + 1)

    # -- options from a loop over a dict ----------------------------------------------------------------
    def enter_loop(self, scope: str, node: ast.For | ast.AsyncFor) -> bool:
        """`for k, v in D.items():` or `for k in D:` (D a name or a literal): opens a loop options may use."""
        iterated, key = node.iter, None
        if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and not iterated.args \
                and iterated.func.attr in ("items", "keys"):
            target = node.target
            if iterated.func.attr == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                target = target.elts[0]
            key = target.id if isinstance(target, ast.Name) else None
            iterated = iterated.func.value
        elif isinstance(node.target, ast.Name):
            key = node.target.id
        if key is None:
            return False
        source = self.dotted(iterated) if isinstance(iterated, (ast.Name, ast.Attribute)) else ""
        if not source and self._record(scope, f"<loop@{node.lineno}>", "bind", iterated, node.lineno):
            source = f"<loop@{node.lineno}>"
        if not source:
            return False
        self.loops.append((key, source))
        return True

    def option(self, scope: str, node: ast.Call, help_text: str | None) -> None:
        """`parser.add_argument(f"--{k}", ...)` or `("--" + k, ...)` inside a loop over a dict's keys."""
        if not self.loops or not node.args:
            return
        prefix_and_key = _prefixed_name(node.args[0])
        if prefix_and_key is None:
            return
        prefix, key = prefix_and_key
        source = next((source for name, source in reversed(self.loops) if name == key), None)
        if source is not None:
            self.options.append(DictOptionFact(scope, source, prefix, help_text, node.lineno, node.col_offset + 1))

    # -- returns under `if name == CONSTANT` ------------------------------------------------------------
    def enter_branch(self, test: ast.expr) -> bool:
        tested = _equality(test)
        if tested is not None:
            self.branches.append(tested)
        return tested is not None

    def branch_return(self, scope: str, returned: str) -> None:
        if self.branches and returned:
            name, value = self.branches[-1]
            self.branch_returns.append(BranchReturn(scope, name, value, returned))

    def enter_function(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Loops and branches do not reach into a nested function; what to restore on leaving it."""
        saved = self.loops, self.branches
        self.loops, self.branches = [], []
        return saved

    def leave_function(self, saved: tuple[list[tuple[str, str]], list[tuple[str, str]]]) -> None:
        self.loops, self.branches = saved


def is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    return isinstance(node, ast.Tuple) and all(is_literal(element) for element in node.elts)


def literal_kind(node: ast.expr) -> str:
    """The type of a literal value ("int", "bool", "None", "tuple"), "" for anything computed."""
    if not is_literal(node):
        return ""
    if isinstance(node, ast.Tuple):
        return "tuple"
    value = node.operand.value if isinstance(node, ast.UnaryOp) else node.value  # type: ignore[attr-defined]
    return "None" if value is None else type(value).__name__


def constant_repr(node: ast.expr) -> str | None:
    """`2` → "2", `'a'` → "'a'", `-1` → "-1": how a plain constant compares across the scan and the index."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        number = node.operand.value
        return repr(-number) if isinstance(number, (int, float)) and not isinstance(number, bool) else None
    if isinstance(node, ast.Constant) and type(node.value) in CONSTANTS:
        return repr(node.value)
    return None


def _equality(test: ast.expr) -> tuple[str, str] | None:
    """`dims == 2` or `2 == dims` → ("dims", "2")."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return None
    left, right = test.left, test.comparators[0]
    if isinstance(right, ast.Name):
        left, right = right, left
    value = constant_repr(right)
    return (left.id, value) if isinstance(left, ast.Name) and value is not None else None


def _prefixed_name(node: ast.expr) -> tuple[str, str] | None:
    """`f"--{k}"` or `"--" + k` → ("--", "k")."""
    if isinstance(node, ast.JoinedStr) and len(node.values) == 2:
        prefix, key = node.values
        if isinstance(prefix, ast.Constant) and isinstance(prefix.value, str) and isinstance(key, ast.FormattedValue) \
                and isinstance(key.value, ast.Name) and key.conversion == -1 and key.format_spec is None:
            return prefix.value, key.value.id
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str) and isinstance(node.right, ast.Name):
        return node.left.value, node.right.id
    return None
