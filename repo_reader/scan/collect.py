"""One walk over a module's syntax tree that records its facts (imports, definitions, calls, assignments).

Names are recorded as spelled; resolving them across files happens later, in `index`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from repo_reader.scan.facts import (
    AssignFact, CallFact, DefFact, FieldFact, ImportFact, ModuleFacts, OptionFact, Param,
)
from repo_reader.scan.dicts import DictRecorder, constant_repr, is_literal
from repo_reader.scan.values import STORE_METHODS, FlowRecorder, property_names

MAX_TEXT = 120
MAX_SWITCH_STRING = 32
CONTAINER_CALLS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}


def dotted(node: ast.expr) -> str:
    """`self.encoder` → "self.encoder"; `f()(x)` → "f()"; anything else → ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        base = dotted(node.func)
        return f"{base}()" if base else ""
    if isinstance(node, ast.Subscript):
        base = dotted(node.value)
        return f"{base}[]" if base else ""
    return ""


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module named by `from ..x import` inside `module`."""
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if target:
        parts.append(target)
    return ".".join(parts)


LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Pass,
          ast.Break, ast.Continue, ast.alias)


def _concrete(bases: tuple[type, ...]) -> frozenset[type]:
    found: set[type] = set()
    pending = list(bases)
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return frozenset(found)


# node types that hold nothing the collector records: never visited (a third of all nodes)
LEAF_TYPES = _concrete(LEAVES)


class Collector:
    """Visits with a per-type dispatch table and never enters leaf nodes: the walk costs less than the
    parse. Not an `ast.NodeVisitor`, whose deprecated `visit_Constant` shim would run on every constant."""

    # node type -> the function that visits it (`visit_X` or `generic_visit`); None for leaves and
    # for values that are not nodes (identifiers in `global`, None keys in `{**d}`)
    _dispatch: dict[type, Callable[[Collector, Any], None] | None] = {}

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = self._dispatch[kind] if kind in self._dispatch else self._method(kind)
        if method is not None:
            method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        dispatch = self._dispatch
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    kind = type(item)
                    method = dispatch[kind] if kind in dispatch else self._method(kind)
                    if method is not None:
                        method(self, item)
            elif value is not None:
                kind = type(value)
                method = dispatch[kind] if kind in dispatch else self._method(kind)
                if method is not None:
                    method(self, value)

    @classmethod
    def _method(cls, kind: type) -> Callable[[Collector, Any], None] | None:
        method = None
        if issubclass(kind, ast.AST) and kind not in LEAF_TYPES:
            method = getattr(cls, "visit_" + kind.__name__, None) or cls.generic_visit
        cls._dispatch[kind] = method
        return method

    def __init__(self, text: str, module: str, is_package: bool, properties: frozenset[str] = frozenset()) -> None:
        self.values = FlowRecorder(properties)
        self.dicts = DictRecorder(self.text, dotted)
        self.source_lines = text.splitlines()
        self.module = module
        self.is_package = is_package
        self.scope: list[str] = []
        self._current: list[str] = []  # the dotted scope at each depth
        self._strings: dict[str, str] = {}
        self.kinds: list[str] = []  # "class" | "function" for each scope level
        self.loop_depth = 0
        self.imports: list[ImportFact] = []
        self.definitions: list[DefFact] = []
        self.calls: list[CallFact] = []
        self.assigns: list[AssignFact] = []
        self.options: list[OptionFact] = []
        self.fields: list[FieldFact] = []
        self.returns: list[tuple[str, str]] = []
        self.globals: set[str] = set()
        self.exports: tuple[str, ...] | None = None
        self.main_guard: int | None = None
        self.module_loops = 0
        self.first_loop_line: int | None = None

    # -- helpers -----------------------------------------------------------------------------
    def text(self, node: ast.AST, limit: int = MAX_TEXT) -> str:
        """Source text of a node, on one line, truncated (cheaper than ast.unparse)."""
        start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1  # type: ignore[attr-defined]
        col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        lines = self.source_lines
        if start >= len(lines) or end >= len(lines):
            return ""
        if start == end:
            raw = lines[start].encode()[col:end_col].decode(errors="replace")
        else:
            pieces = [lines[start].encode()[col:].decode(errors="replace")]
            pieces += lines[start + 1 : end]
            pieces.append(lines[end].encode()[:end_col].decode(errors="replace"))
            raw = " ".join(piece.strip() for piece in pieces)
        return str(raw) if len(raw) <= limit else raw[: limit - 3] + "..."

    def shared(self, name: str) -> str:
        """One string object per distinct name in the file: pickled once, however often it is spelled."""
        return self._strings.setdefault(name, name)

    @property
    def current(self) -> str:
        return self._current[-1] if self._current else ""

    def in_function(self) -> bool:
        return "function" in self.kinds

    # -- imports -----------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports.append(ImportFact(alias.asname, alias.name, node.lineno, node.col_offset + 1))
            else:
                head = alias.name.split(".")[0]
                self.imports.append(ImportFact(head, head, node.lineno, node.col_offset + 1))
                if head != alias.name:  # `import a.b` also makes `a.b` reachable through `a`
                    self.imports.append(ImportFact(alias.name, alias.name, node.lineno, node.col_offset + 1))
            if not self.scope:
                self.globals.add((alias.asname or alias.name).split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            base = resolve_relative(self.module, self.is_package, node.level, node.module)
        for alias in node.names:
            if alias.name == "*":
                self.imports.append(ImportFact("*", base, node.lineno, node.col_offset + 1))
                continue
            local = alias.asname or alias.name
            target = f"{base}.{alias.name}" if base else alias.name
            self.imports.append(ImportFact(local, target, node.lineno, node.col_offset + 1))
            if not self.scope:
                self.globals.add(local)

    # -- definitions -------------------------------------------------------------------------
    def params(self, arguments: ast.arguments) -> tuple[Param, ...]:
        result: list[Param] = []
        positional = arguments.posonlyargs + arguments.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
        defaults += list(arguments.defaults)
        for arg, default in zip(positional, defaults):
            result.append(self.param(arg, default, "positional"))
        if arguments.vararg:
            result.append(self.param(arguments.vararg, None, "vararg"))
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults):
            result.append(self.param(arg, default, "keyword"))
        if arguments.kwarg:
            result.append(self.param(arguments.kwarg, None, "varkw"))
        return tuple(result)

    def param(self, arg: ast.arg, default: ast.expr | None, kind: str) -> Param:
        annotation = self.text(arg.annotation) if arg.annotation else ""
        return Param(arg.arg, annotation, self.text(default) if default is not None else None, kind)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        kind = "method" if self.kinds and self.kinds[-1] == "class" else "function"
        qualname = ".".join([*self.scope, node.name])
        params = self.params(node.args)
        self.definitions.append(
            DefFact(
                qualname, kind, node.lineno, node.col_offset + 1, node.end_lineno or node.lineno,
                params, tuple(self.text(d, 1000) for d in node.decorator_list), (), ast.get_docstring(node),
                isinstance(node, ast.AsyncFunctionDef),
            )
        )
        if not self.scope:
            self.globals.add(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        if node.decorator_list:
            self.values.decorated(self.current, f"{self.module}.{qualname}", node.name, node.decorator_list)
        for param in params:
            if param.annotation and param.name != "self":
                self.assigns.append(
                    AssignFact(qualname, param.name, "annotation", param.annotation, node.lineno,
                               node.col_offset + 1, False)
                )
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.values.declared.append({})
        self.enter(node.name, "function", node.body)
        self.values.declared.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        qualname = ".".join([*self.scope, node.name])
        bases = tuple(dotted(base) or self.text(base) for base in node.bases)
        self.definitions.append(
            DefFact(
                qualname, "class", node.lineno, node.col_offset + 1, node.end_lineno or node.lineno,
                (), tuple(self.text(d, 1000) for d in node.decorator_list), bases, ast.get_docstring(node),
            )
        )
        if not self.scope:
            self.globals.add(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        if node.decorator_list:
            self.values.decorated(self.current, f"{self.module}.{qualname}", node.name, node.decorator_list)
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                default = self.text(statement.value) if statement.value is not None else None
                self.fields.append(
                    FieldFact(qualname, statement.target.id, self.text(statement.annotation), default,
                              statement.lineno)
                )
        self.enter(node.name, "class", node.body)

    def enter(self, name: str, kind: str, body: list[ast.stmt]) -> None:
        saved_loops = self.loop_depth
        self.scope.append(name)
        self._current.append(".".join(self.scope))  # one string per scope, shared by all its facts
        self.kinds.append(kind)
        self.loop_depth = 0
        saved_dicts = self.dicts.enter_function()
        for statement in body:
            self.visit(statement)
        self.dicts.leave_function(saved_dicts)
        self.scope.pop()
        self._current.pop()
        self.kinds.pop()
        self.loop_depth = saved_loops

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    # -- what values flow where (scan/values.py) ---------------------------------------------------
    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.values.with_item(self.current, item, node.lineno, node.col_offset + 1)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.values.assign(self.current, node.target, self.values.texts(node.value, self.current))
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        self.values.declare(node)

    visit_Nonlocal = visit_Global

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.values.assign(self.current, node.target, [f"{text}[*]" for text in self.values.texts(node.iter, self.current)])
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp | ast.Compare) -> None:
        self.values.operation(self.current, node)
        self.generic_visit(node)

    visit_Compare = visit_BinOp

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.slice, (ast.Slice, ast.Tuple)):  # `x[:, 0]` indexes a tensor
            self.values.operation(self.current, node)
        self.visit(node.value)
        self.visit(node.slice)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self.values.properties:
            self.values.operation(self.current, node)
        self.visit(node.value)

    # -- control flow ------------------------------------------------------------------------
    def visit_If(self, node: ast.If) -> None:
        if not self.scope and self.main_guard is None and is_main_guard(node.test):
            self.main_guard = node.lineno
        if not self.in_function():
            self.generic_visit(node)
            return
        self.visit(node.test)
        branch = self.dicts.enter_branch(node.test)  # which `if dims == 2:` body a return sits in
        for statement in node.body:
            self.visit(statement)
        if branch:
            self.dicts.branches.pop()
        for statement in node.orelse:
            self.visit(statement)

    def loop(self, node: ast.For | ast.While | ast.AsyncFor) -> None:
        if not self.scope and self.main_guard is None:
            self.module_loops += 1
            self.first_loop_line = self.first_loop_line or node.lineno
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.values.loop(self.current, node.target, node.iter, node.lineno, node.col_offset + 1)
        if isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            iterated = dotted(node.iter)
            if iterated:  # `for block in self.blocks:` lets `block(x)` reach Block.forward
                self.assigns.append(
                    AssignFact(self.current, node.target.id, "iter", iterated, node.lineno,
                               node.col_offset + 1, True)
                )
        over_dict = isinstance(node, (ast.For, ast.AsyncFor)) and self.dicts.enter_loop(self.current, node)
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1
        if over_dict:
            self.dicts.loops.pop()

    visit_For = visit_While = visit_AsyncFor = loop

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.values.flow(self.current, "<return>", self.values.texts(node.value, self.current))
            value = node.value.func if isinstance(node.value, ast.Call) else node.value
            name = dotted(value)
            if name:
                self.returns.append((self.current, name))
                self.dicts.branch_return(self.current, name)
            self.dicts.returned(self.current, node.value, node.lineno)
            self.visit(node.value)

    # -- assignments -------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        sources = self.values.texts(node.value, self.current)
        for target in node.targets:
            self.values.assign(self.current, target, sources)
        for target in node.targets:
            self.record_assign(target, node.value, node)
            self.dicts.bind(self.current, target, node.value, node.lineno)
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        target = dotted(node.target)
        if target and (self.in_function() or not self.scope):
            self.assigns.append(
                AssignFact(self.current, target, "annotation", self.text(node.annotation), node.lineno,
                           node.col_offset + 1, self.loop_depth > 0)
            )
        if node.value is not None:
            self.values.assign(self.current, node.target, self.values.texts(node.value, self.current))
            self.record_assign(node.target, node.value, node)
            self.dicts.bind(self.current, node.target, node.value, node.lineno)
            self.visit(node.value)

    def record_assign(self, target: ast.expr, value: ast.expr, node: ast.stmt) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                if not self.scope and isinstance(element, ast.Name):
                    self.globals.add(element.id)
            return
        name = dotted(target)
        if not name:
            return
        if not self.scope and isinstance(target, ast.Name):
            self.globals.add(target.id)
            if target.id == "__all__" and isinstance(value, (ast.List, ast.Tuple)):
                self.exports = tuple(
                    element.value for element in value.elts
                    if isinstance(element, ast.Constant) and isinstance(element.value, str)
                )
        kind, text, children = describe_value(value)
        if not kind and not self.scope and isinstance(target, ast.Name) and is_literal(value):
            kind, text = "constant", self.text(value)  # module-level settings of configurator scripts
        if kind:
            self.assigns.append(
                AssignFact(self.current, name, kind, text, node.lineno, node.col_offset + 1,
                           self.loop_depth > 0, children)
            )
        if kind == "call" and text.rsplit(".", 1)[-1] == "ModuleDict" and isinstance(value, ast.Call) and value.args:
            for key, item in keyed_items(value.args[0]):  # nanoGPT's `transformer.h`, `transformer.wte`
                item_kind, item_text, item_children = describe_value(item)
                if item_kind == "call":
                    self.assigns.append(
                        AssignFact(self.current, f"{name}.{key}", item_kind, item_text, item.lineno,
                                   item.col_offset + 1, self.loop_depth > 0, item_children)
                    )

    # -- calls -------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        callee = dotted(node.func)
        last = callee.rsplit(".", 1)[-1]
        keep_args = bool(last) and (last[:1].isupper() or last in ("build", "create_model", "build_model", "set_defaults"))
        args: tuple[str, ...] = ()
        if keep_args:
            args = tuple(self.text(arg) for arg in node.args) + tuple(
                (f"{keyword.arg}={self.text(keyword.value)}" if keyword.arg else f"**{self.text(keyword.value)}")
                for keyword in node.keywords
            )
        refs = tuple(self.shared(dotted(arg)) for arg in node.args)
        arg_values, keyword_values = self.values.call_values(node, self.current, refs) if node.args or node.keywords \
            else ((), ())
        self.calls.append(
            CallFact(
                self.current, self.shared(callee), node.lineno, node.col_offset + 1, args,
                tuple(keyword.arg for keyword in node.keywords if keyword.arg), self.loop_depth > 0, refs,
                tuple((keyword.arg, self.shared(dotted(keyword.value))) for keyword in node.keywords if keyword.arg),
                arg_values, keyword_values, self.values.callee_value(node, self.current, callee),
                literal_arguments(node),
            )
        )
        store = STORE_METHODS.get(last)
        if store is not None and isinstance(node.func, ast.Attribute) and node.args:
            self.values.assign(self.current, ast.Subscript(node.func.value, ast.Constant(None), ast.Load()),
                               self.values.texts(node.args[store], self.current))
        if last == "add_argument":
            self.record_option(node)
        elif last == "update":
            self.dicts.update(self.current, node)
        elif last == "append" and callee.startswith("self.") and node.args:
            kind, text, children = describe_value(node.args[0])
            if kind == "call":
                self.assigns.append(
                    AssignFact(self.current, callee[: -len(".append")], "append", text, node.lineno,
                               node.col_offset + 1, self.loop_depth > 0)
                )
        elif callee in ("setattr", "self.add_module", "self.register_module") and len(node.args) >= 2:
            kind, text, children = describe_value(node.args[-1])
            name = node.args[-2]
            label = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else "<dynamic>"
            if kind == "call" and (callee != "setattr" or dotted(node.args[0]) == "self"):
                self.assigns.append(
                    AssignFact(self.current, f"self.{label}", "setattr", text, node.lineno,
                               node.col_offset + 1, self.loop_depth > 0)
                )
        self.generic_visit(node)

    def record_option(self, node: ast.Call) -> None:
        flags = tuple(
            arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        )
        keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        if not flags:  # `add_argument(f"--{k}", default=v)` in a loop over a dict
            help_node = keywords.get("help")
            help_text = help_node.value if isinstance(help_node, ast.Constant) and isinstance(help_node.value, str) else None
            self.dicts.option(self.current, node, help_text)
            return
        def constant(key: str) -> str | None:
            value = keywords.get(key)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return self.text(value) if value is not None else None
        choices_node = keywords.get("choices")
        choices: tuple[str, ...] = ()
        if isinstance(choices_node, (ast.List, ast.Tuple)):
            choices = tuple(self.text(element) for element in choices_node.elts)
        long_flags = [flag for flag in flags if flag.startswith("--")]
        dest = constant("dest") or (long_flags[0] if long_flags else flags[0]).lstrip("-").replace("-", "_")
        required = keywords.get("required")
        self.options.append(
            OptionFact(
                self.current, flags, dest,
                self.text(keywords["default"]) if "default" in keywords else None,
                constant("help"), self.text(keywords["type"]) if "type" in keywords else None,
                isinstance(required, ast.Constant) and required.value is True, choices,
                constant("action"), node.lineno,
            )
        )


def describe_value(value: ast.expr) -> tuple[str, str, tuple[str, ...]]:
    """What an assignment binds: ("call", callee, children) for `Net(...)`, containers, aliases."""
    if isinstance(value, ast.Call):
        callee = dotted(value.func)
        if not callee:
            return "", "", ()
        children: tuple[str, ...] = ()
        if callee.rsplit(".", 1)[-1] in CONTAINER_CALLS:
            children = tuple(name for arg in value.args for name in called_names(arg))
        return "call", callee, children
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list", "list", tuple(called_names(value))
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict", "dict", tuple(called_names(value))
    if isinstance(value, ast.Tuple):
        return "tuple", "tuple", tuple(called_names(value))
    if isinstance(value, (ast.Name, ast.Attribute)):
        name = dotted(value)
        return ("alias", name, ()) if name else ("", "", ())
    return "", "", ()


def called_names(node: ast.expr) -> list[str]:
    """Callees of the calls that build the elements of a container expression."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [name for element in node.elts for name in called_names(element)]
    if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return called_names(node.elt)
    if isinstance(node, ast.DictComp):
        return called_names(node.value)
    if isinstance(node, ast.Dict):
        return [name for element in node.values for name in called_names(element)]
    if isinstance(node, ast.Starred):
        return called_names(node.value)
    if isinstance(node, ast.Call):
        callee = dotted(node.func)
        if callee in ("dict", "OrderedDict", "collections.OrderedDict"):
            return [name for keyword in node.keywords for name in called_names(keyword.value)] + [
                name for arg in node.args for name in called_names(arg)
            ]
        return [callee] if callee else []
    return []


def keyed_items(node: ast.expr) -> list[tuple[str, ast.expr]]:
    """(key, value) pairs of `dict(a=..., b=...)` or `{"a": ..., "b": ...}`."""
    if isinstance(node, ast.Call) and dotted(node.func) == "dict":
        return [(keyword.arg, keyword.value) for keyword in node.keywords if keyword.arg]
    if isinstance(node, ast.Dict):
        return [(key.value, value) for key, value in zip(node.keys, node.values)
                if isinstance(key, ast.Constant) and isinstance(key.value, str)]
    return []


def literal_arguments(node: ast.Call) -> tuple[tuple[str, str], ...]:
    """(position or keyword, repr) of the arguments that are plain constants: `conv_nd(2, ...)` → (("0", "2"),)."""
    found = [(str(position), value) for position, arg in enumerate(node.args)
             if (value := _switch_constant(arg)) is not None]
    found += [(keyword.arg, value) for keyword in node.keywords
              if keyword.arg and (value := _switch_constant(keyword.value)) is not None]
    return tuple(found)


def _switch_constant(node: ast.expr) -> str | None:
    """What a branch may test an argument against: numbers, booleans, None and short names (not prose)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > MAX_SWITCH_STRING:
        return None
    return constant_repr(node)


def is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = {side.id for side in sides if isinstance(side, ast.Name)}
    constants = {side.value for side in sides if isinstance(side, ast.Constant)}
    return names == {"__name__"} and constants == {"__main__"}


def collect_facts(tree: ast.Module, text: str, path: str, module: str, is_package: bool) -> ModuleFacts:
    collector = Collector(text, module, is_package, property_names(tree))
    for statement in tree.body:
        collector.visit(statement)
    values = collector.values
    return ModuleFacts(
        path=path, module=module, is_package=is_package, lines=len(collector.source_lines),
        imports=tuple(collector.imports), definitions=tuple(collector.definitions),
        calls=tuple(collector.calls), assigns=tuple(collector.assigns), options=tuple(collector.options),
        fields=tuple(collector.fields), returns=tuple(collector.returns),
        globals=tuple(sorted(collector.globals)), exports=collector.exports,
        main_guard=collector.main_guard, module_loops=collector.module_loops,
        first_loop_line=collector.first_loop_line,
        docstring=ast.get_docstring(tree),
        flows=tuple(dict.fromkeys(values.flows)), implicit_calls=tuple(values.implicit),
        decorator_calls=tuple(values.decorators),
        dicts=tuple(collector.dicts.dicts), dict_options=tuple(collector.dicts.options),
        branch_returns=tuple(collector.dicts.branch_returns),
    )
