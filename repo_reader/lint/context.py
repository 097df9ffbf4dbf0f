"""What a rule sees: one parsed file (`LintContext`) and a read-only view of the whole repo (`RepoView`).

Names are resolved through the symbol table to canonical qualified names; other files' syntax trees
are parsed on demand, so that rules can follow calls into them. No IO: text comes from `read`.
"""

from __future__ import annotations

import ast
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import cached_property

from repo_reader.index.classes import ClassIndex, ClassInfo
from repo_reader.index.symbols import SymbolTable
from repo_reader.lint.names import canonical
from repo_reader.scan.collect import dotted
from repo_reader.scan.facts import ModuleFacts

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
TREE_CACHE_SIZE = 64


def parse(text: str, path: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def definitions_in(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every class and function with its qualname inside the module (`Net.forward`)."""
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                yield name, child
                stack.append((f"{name}.", child))
            elif not isinstance(child, ast.expr):
                stack.append((prefix, child))


class RepoView:
    """The whole repository, for rules that need more than one file."""

    def __init__(self, modules: tuple[ModuleFacts, ...], read: Callable[[str], str | None]) -> None:
        self.modules = {facts.module: facts for facts in modules}
        self.symbols = SymbolTable(modules)
        self.classes = ClassIndex(modules, self.symbols)
        self._read = read
        self._trees: OrderedDict[str, dict[str, ast.AST] | None] = OrderedDict()
        self._children: dict[str, set[str]] | None = None
        self.memo: dict[str, object] = {}  # repo-wide answers rules compute once (callers, stochastic models)

    def remember(self, module: str, tree: ast.Module) -> None:
        self._store(module, {"": tree, **dict(definitions_in(tree))})

    def _store(self, module: str, table: dict[str, ast.AST] | None) -> None:
        self._trees[module] = table
        self._trees.move_to_end(module)
        while len(self._trees) > TREE_CACHE_SIZE:
            self._trees.popitem(last=False)

    def _table(self, module: str) -> dict[str, ast.AST] | None:
        if module in self._trees:
            self._trees.move_to_end(module)
            return self._trees[module]
        facts = self.modules.get(module)
        text = self._read(facts.path) if facts else None
        tree = parse(text, facts.path) if facts and text is not None else None
        self._store(module, {"": tree, **dict(definitions_in(tree))} if tree else None)
        return self._trees[module]

    def definition(self, qualname: str) -> tuple[str, ast.AST] | None:
        """(module, node) of a repo function or class named by its full qualified name (a module: its tree)."""
        if qualname in self.modules:
            table = self._table(qualname)
            return (qualname, table[""]) if table else None
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in self.modules:
                table = self._table(module)
                node = table.get(".".join(parts[cut:])) if table else None
                return (module, node) if node is not None else None
        return None

    def descendants(self, qualname: str) -> set[str]:
        if self._children is None:
            self._children = {}
            for info in self.classes.classes.values():
                for base in info.bases:
                    self._children.setdefault(base, set()).add(info.qualname)
        found: set[str] = set()
        stack = [qualname]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


class LintContext:
    """One file being checked."""

    def __init__(self, facts: ModuleFacts, text: str, tree: ast.Module, repo: RepoView) -> None:
        self.facts = facts
        self.path = facts.path
        self.module = facts.module
        self.text = text
        self.tree = tree
        self.repo = repo
        self.lines = text.splitlines()
        self.cache: dict[object, object] = {}  # answers several rules share (loops, effects), per file

    # -- names --------------------------------------------------------------------------------
    def resolve(self, node: ast.AST, module: str | None = None) -> str:
        """Canonical qualified name of a dotted expression (`nn.Conv2d` → `torch.nn.Conv2d`), else ""."""
        if not isinstance(node, (ast.Name, ast.Attribute)):
            return ""
        text = dotted(node)
        if not text or "(" in text or "[" in text:
            return ""
        return canonical(self.repo.symbols.resolve(module or self.module, text).qualname)

    def mentions(self, word: str) -> bool:
        """Whether the file's text holds `word` (searched once per file and word, however many
        functions ask: a search per function made `check` quadratic in the file's size)."""
        key = ("mentions", word)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = word in self.text
        return bool(found)

    def call_name(self, node: ast.AST, module: str | None = None) -> str:
        return self.resolve(node.func, module) if isinstance(node, ast.Call) else ""


    # -- classes ------------------------------------------------------------------------------
    @cached_property
    def class_nodes(self) -> list[tuple[str, ast.ClassDef]]:
        return [(name, node) for name, node in definitions_in(self.tree) if isinstance(node, ast.ClassDef)]

    def class_info(self, qualname: str) -> ClassInfo | None:
        return self.repo.classes.classes.get(f"{self.module}.{qualname}")

    def module_classes(self) -> Iterator[tuple[ClassInfo, ast.ClassDef]]:
        """The nn.Module subclasses defined in this file (Lightning and transformers models included)."""
        for name, node in self.class_nodes:
            info = self.class_info(name)
            if info is not None and info.framework:
                yield info, node

    def is_module_class(self, qualname: str) -> bool:
        """Whether a resolved class name is an nn.Module: a torch layer or one of the repo's models."""
        info = self.repo.classes.classes.get(qualname)
        if info is not None:
            return bool(info.framework)
        return qualname.startswith("torch.nn.") and qualname.count(".") == 2 and qualname[9:10].isupper()

    @cached_property
    def functions(self) -> list[tuple[str, FunctionNode]]:
        return [(name, node) for name, node in definitions_in(self.tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]

    # -- positions ----------------------------------------------------------------------------
    def column(self, node: ast.AST) -> int:
        """1-based character column of a node (ast gives UTF-8 byte offsets)."""
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        if 0 < line <= len(self.lines):
            return len(self.lines[line - 1].encode()[:offset].decode(errors="replace")) + 1
        return offset + 1


def methods(node: ast.ClassDef) -> dict[str, FunctionNode]:
    return {item.name: item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}


def self_attribute(node: ast.AST) -> str | None:
    """`self.encoder` → "encoder"."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def keyword(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    """The argument given for parameter `name`, by keyword or (when `position` is known) by position."""
    for item in call.keywords:
        if item.arg == name:
            return item.value
    if position is not None and position < len(call.args):
        if not any(isinstance(arg, ast.Starred) for arg in call.args[: position + 1]):
            return call.args[position]
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    return any(item.arg is None for item in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)


def is_constant(node: ast.AST | None, *values: object) -> bool:
    return isinstance(node, ast.Constant) and any(node.value is value or node.value == value and
                                                  type(node.value) is type(value) for value in values)
