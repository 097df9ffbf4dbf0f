"""From what a callee may hold (`index/pointsto.py`) to the call edges the graph shows.

Names keep the graph's convention: `module.qualname`, a class call goes to its `__init__` (else the
class), calling an nn.Module instance goes to its `forward`, library names by import path,
`<builtin>.name`, container methods as `<builtin>.list.append`. Builtins that call back (`map(f, xs)`,
`sorted(key=f)`) also reach the function they are given; `len(x)`, `str(x)` reach `x.__len__`, ....
"""

from __future__ import annotations

from repo_reader.index.classes import ClassIndex
from repo_reader.index.pointsto import UNKNOWN, PointsTo
from repo_reader.scan.facts import CallFact

CALLBACKS = {  # function → (position of the callback, keyword naming it)
    "<builtin>.map": (0, None), "<builtin>.filter": (0, None), "functools.reduce": (0, None),
    "<builtin>.sorted": (None, "key"), "<builtin>.min": (None, "key"), "<builtin>.max": (None, "key"),
    "<builtin>.list.sort": (None, "key"),
}
DUNDER_BUILTINS = {
    "<builtin>.len": "__len__", "<builtin>.str": "__str__", "<builtin>.repr": "__repr__",
    "<builtin>.iter": "__iter__", "<builtin>.next": "__next__", "<builtin>.hash": "__hash__",
    "<builtin>.bool": "__bool__", "<builtin>.abs": "__abs__", "<builtin>.format": "__format__",
}
Edge = tuple[str, str]  # (callee, kind)


class CallTargets:
    def __init__(self, pointsto: PointsTo, classes: ClassIndex) -> None:
        self.pointsto = pointsto
        self.classes = classes

    def call(self, module: str, call: CallFact) -> list[Edge] | None:
        """The edges of a call written with parentheses; None leaves it to the name-based resolver."""
        targets = self.pointsto.call_targets(call)
        if targets is None:
            return None
        edges = [edge for value in sorted(targets) if (edge := self.edge(value))]
        if not edges:
            return None
        for callee, _ in list(edges):
            edges += self._called_back(module, call, callee)
        return list(dict.fromkeys(edges))

    def implicit(self, call: CallFact) -> list[Edge]:
        """`with`, `for`, `x[i]`, operators, property reads: only the repo's own methods count."""
        targets = self.pointsto.call_targets(call)
        if targets is None:
            return []
        return [(edge[0], "call") for value in sorted(targets) if value.startswith(("bm:", "f:", "pr:"))
                and (edge := self.edge(value)) and edge[0] in self.pointsto.functions]

    def decorator(self, call: CallFact) -> list[Edge]:
        targets = self.pointsto.call_targets(call)
        return [edge for value in sorted(targets or ()) if (edge := self.edge(value))]

    def edge(self, value: str) -> Edge | None:
        kind, _, rest = value.partition(":")
        if kind in ("f", "sf", "cm", "pr"):
            return rest, "call"
        if kind == "bm":
            return rest.partition("|")[0], "call"
        if kind == "c":
            return self.classes.find_method(rest, "__init__") or rest, "construct"
        if kind == "i":
            info = self.classes.classes.get(rest)
            if info is None:
                return None
            method = self.pointsto.instance_call(rest)
            if method:
                return method, "module-call" if info.framework else "call"
            return ("torch.nn.Module.forward", "call") if info.framework else None
        if kind in ("x", "xa"):
            return rest, "call"
        if kind == "xi":
            return rest, "module-call"
        if kind == "p":
            return self.edge(rest)
        if kind == "km":
            container, _, method = rest.partition("|")
            return f"<builtin>.{_container_kind(container)}.{method}", "call"
        if kind == "sr":
            return f"torch.nn.Module.{rest.partition('|')[0]}", "call"
        return None

    def _called_back(self, module: str, call: CallFact, callee: str) -> list[Edge]:
        """`map(f, xs)` also calls f; `len(x)` calls `x.__len__`."""
        texts: list[str] = []
        arguments = call.arg_values or call.refs
        if callee in CALLBACKS:
            position, keyword = CALLBACKS[callee]
            if position is not None and len(arguments) > position:
                texts.append(arguments[position])
            texts += [text for name, text in call.keyword_values or call.keyword_refs if name == keyword]
        elif callee in DUNDER_BUILTINS and arguments:
            texts.append(f"{arguments[0]}.{DUNDER_BUILTINS[callee]}")
        edges = []
        for text in texts:
            values = self.pointsto.evaluate(module, call.scope, text, set()) if text else frozenset()
            if UNKNOWN in values:
                continue
            for value in sorted(values):
                edge = self.edge(value)
                if edge and (callee not in DUNDER_BUILTINS or edge[0] in self.pointsto.functions):
                    edges.append(edge)
        return edges


def _container_kind(container: str) -> str:
    """`mod<list@3:4>` → list; the containers of `*args` and `**kwargs` are a tuple and a dict."""
    if container.startswith("<args>"):
        return "tuple"
    if container.startswith("<kwargs>"):
        return "dict"
    return container.partition("<")[2].partition("@")[0] or "list"
