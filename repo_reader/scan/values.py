"""Where values flow in one module: the facts the points-to pass (`index/pointsto.py`) propagates.

Expressions become value texts (described on `FlowFact`); assignments, loops, `with ... as`, returns
and stores into containers become flows between them. Imports only the stdlib and `scan.facts`.
"""

from __future__ import annotations

import ast
import re

from repo_reader.scan.facts import CallFact, FlowFact

KEY = re.compile(r"^\w{1,40}$")
OPERATORS = {
    ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.MatMult: "__matmul__",
    ast.Div: "__truediv__", ast.FloorDiv: "__floordiv__", ast.Mod: "__mod__", ast.Pow: "__pow__",
}
CONTAINERS = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set", ast.Dict: "dict", ast.ListComp: "list",
              ast.SetComp: "set", ast.DictComp: "dict", ast.GeneratorExp: "list"}
STORE_METHODS = {"append": -1, "add": -1, "insert": -1, "appendleft": -1}  # method → which argument is stored
MAX_DEPTH = 12


def property_names(tree: ast.Module) -> frozenset[str]:
    """Names of the `@property` getters defined in the module's classes (nested ones too)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                        isinstance(d, ast.Name) and d.id in ("property", "cached_property")
                        or isinstance(d, ast.Attribute) and d.attr == "cached_property" for d in item.decorator_list):
                    found.add(item.name)
                elif isinstance(item, ast.ClassDef):
                    pending.append(item)
        elif isinstance(node, (ast.If, ast.Try)):
            pending.extend(node.body)
    return frozenset(found)


class FlowRecorder:
    """Value texts of expressions, and the flows and implicit calls a module's statements make."""

    def __init__(self, properties: frozenset[str]) -> None:
        self.flows: list[FlowFact] = []
        self.implicit: list[CallFact] = []
        self.decorators: list[CallFact] = []
        self.properties = properties
        self.declared: list[dict[str, str]] = [{}]  # per function scope: name → "<global>" | "<nonlocal>"

    # -- expressions ---------------------------------------------------------------------------------
    def texts(self, node: ast.expr | None, scope: str, depth: int = 0) -> list[str]:
        """The value texts `node` may evaluate to (several for `a if c else b`, `a or b`)."""
        if node is None or depth > MAX_DEPTH:
            return []
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Attribute):
            return [f"{base}.{node.attr}" for base in self.texts(node.value, scope, depth + 1) if _chainable(base)]
        if isinstance(node, ast.Call):
            return self._call_texts(node, scope, depth)
        if isinstance(node, ast.Subscript):
            key = _key(node.slice)
            return [f"{base}[{key}]" for base in self.texts(node.value, scope, depth + 1) if _chainable(base)]
        if isinstance(node, ast.IfExp):
            return self.texts(node.body, scope, depth + 1) + self.texts(node.orelse, scope, depth + 1)
        if isinstance(node, ast.BoolOp):
            return [text for value in node.values for text in self.texts(value, scope, depth + 1)]
        if isinstance(node, ast.NamedExpr):
            return self.texts(node.value, scope, depth + 1)
        if isinstance(node, ast.Lambda):
            return ["<lambda>"]
        kind = CONTAINERS.get(type(node))
        if kind:
            return [self._container(node, kind, scope, depth)]
        return []

    def _call_texts(self, node: ast.Call, scope: str, depth: int) -> list[str]:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id if isinstance(
            node.func, ast.Name) else ""
        constant = _constant_string(node.args[1]) if len(node.args) == 2 else None
        if name == "getattr" and constant and KEY.match(constant):  # getattr(obj, "name")
            return [f"{base}.{constant}" for base in self.texts(node.args[0], scope, depth + 1) if _chainable(base)]
        module = _constant_string(node.args[0]) if node.args else None
        if name == "import_module" and module and re.match(r"^[\w.]+$", module):
            return [f"<module:{module}>"]
        if name in ("iter", "next") and len(node.args) == 1 and isinstance(node.func, ast.Name):
            return [f"{base}.__{name}__()" for base in self.texts(node.args[0], scope, depth + 1) if _chainable(base)]
        if name == "partial" and node.args:
            return [f"<partial({inner})>" for inner in self.texts(node.args[0], scope, depth + 1)]
        return [f"{base}()" for base in self.texts(node.func, scope, depth + 1) if _chainable(base)]

    def _container(self, node: ast.expr, kind: str, scope: str, depth: int) -> str:
        atom = f"<{kind}@{node.lineno}:{node.col_offset}:{node.end_col_offset}>"
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for index, element in enumerate(node.elts):
                if isinstance(element, ast.Starred):
                    self.flow(scope, f"{atom}[]", [f"{t}[*]" for t in self.texts(element.value, scope, depth + 1)])
                else:
                    key = str(index) if kind != "set" else ""
                    self.flow(scope, f"{atom}[{key}]", self.texts(element, scope, depth + 1))
        elif isinstance(node, ast.Dict):
            for key_node, value in zip(node.keys, node.values):
                if key_node is None:  # `{**other}`
                    self.flow(scope, f"{atom}[]", [f"{t}[*]" for t in self.texts(value, scope, depth + 1)])
                else:
                    self.flow(scope, f"{atom}[{_key(key_node)}]", self.texts(value, scope, depth + 1))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            self.flow(scope, f"{atom}[]", self.texts(node.elt, scope, depth + 1))
        elif isinstance(node, ast.DictComp):
            self.flow(scope, f"{atom}[]", self.texts(node.value, scope, depth + 1))
        return atom

    # -- statements ----------------------------------------------------------------------------------
    def flow(self, scope: str, target: str, sources: list[str]) -> None:
        for source in sources:
            self.flows.append(FlowFact(scope, target, source))

    def assign(self, scope: str, target: ast.expr, sources: list[str]) -> None:
        """`target = <sources>`; a tuple target takes each source's items by position."""
        if not sources:
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if not isinstance(element, ast.Starred):
                    self.assign(scope, element, [f"{source}[{index}]" for source in sources])
            return
        if isinstance(target, ast.Name):
            self.flow(scope, self.declared[-1].get(target.id, "") + target.id, sources)
            return
        text = self.texts(target, scope)
        if text and _chainable(text[0]):
            self.flow(scope, text[0], sources)

    def declare(self, node: ast.Global | ast.Nonlocal) -> None:
        for name in node.names:
            self.declared[-1][name] = "<global>" if isinstance(node, ast.Global) else "<nonlocal>"

    def loop(self, scope: str, target: ast.expr, iterated: ast.expr, line: int, col: int) -> None:
        """`for target in iterated`: the target takes any item; the loop calls __iter__ and __next__."""
        sources = self.texts(iterated, scope)
        self.assign(scope, target, [f"{source}[*]" for source in sources])
        for source in sources:
            if _chainable(source):
                self.implicit_call(scope, f"{source}.__iter__", line, col)
                self.implicit_call(scope, f"{source}.__iter__().__next__", line, col)

    def with_item(self, scope: str, item: ast.withitem, line: int, col: int) -> None:
        for source in self.texts(item.context_expr, scope):
            if not _chainable(source):
                continue
            self.implicit_call(scope, f"{source}.__enter__", line, col)
            self.implicit_call(scope, f"{source}.__exit__", line, col)
            if item.optional_vars is not None:
                self.assign(scope, item.optional_vars, [f"{source}.__enter__()"])

    def implicit_call(self, scope: str, callee: str, line: int, col: int, refs: tuple[str, ...] = ()) -> None:
        self.implicit.append(CallFact(scope, callee, line, col, (), (), False, refs))

    def operation(self, scope: str, node: ast.expr) -> None:
        """`a + b`, `k in c`, `x[i]`, `obj.prop`: the method each may call."""
        if isinstance(node, ast.BinOp):
            receiver, method = node.left, OPERATORS.get(type(node.op))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            receiver, method = node.comparators[0], "__contains__"
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            receiver, method = node.value, "__getitem__"
        elif isinstance(node, ast.Attribute) and node.attr in self.properties and isinstance(node.ctx, ast.Load):
            receiver, method = node, ""
        else:
            return
        if method is None or not isinstance(receiver, (ast.Name, ast.Attribute, ast.Call)):
            return
        for text in self.texts(receiver, scope):
            if _chainable(text):
                self.implicit_call(scope, f"{text}.{method}" if method else text, node.lineno, node.col_offset + 1)

    def decorated(self, scope: str, qualname: str, name: str, decorators: list[ast.expr]) -> None:
        """`@a @b def f`: f = a(b(<fn:f>)). Each application is recorded innermost first, as a call of
        the decorator whose `args` holds the decorated qualname and `keywords` the name it binds."""
        value = f"<fn:{qualname}>"
        for decorator in reversed(decorators):
            applied = [text for text in self.texts(decorator, scope) if _chainable(text)]
            if not applied:
                return
            self.decorators.append(CallFact(scope, applied[0], decorator.lineno, decorator.col_offset + 1,
                                            (qualname,), (self.declared[-1].get(name, "") + name,), False, (value,)))
            value = f"{applied[0]}()"

    def callee_value(self, node: ast.Call, scope: str, callee: str) -> str:
        texts = self.texts(node.func, scope) if not isinstance(node.func, ast.Name) else [callee]
        return texts[0] if texts and texts[0] != callee else ""

    def call_values(self, node: ast.Call, scope: str, refs: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """The arguments' value texts where one differs from its ref (else both empty)."""
        values = tuple(
            f"*{(self.texts(arg.value, scope) or [''])[0]}" if isinstance(arg, ast.Starred)
            else (self.texts(arg, scope) or [""])[0] for arg in node.args
        )
        keywords = tuple((keyword.arg or "**", (self.texts(keyword.value, scope) or [""])[0]) for keyword in node.keywords)
        same = values == refs and all(keyword != "**" and not text.startswith("<") for keyword, text in keywords)
        return ((), ()) if same else (values, keywords)


def _chainable(text: str) -> bool:
    """Whether more can be spelled after `text` (not after a lambda)."""
    return bool(text) and text != "<lambda>"


def _key(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        key = str(node.value)
        return key if KEY.match(key) else ""
    return ""


def _constant_string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
