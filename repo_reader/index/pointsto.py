"""Points-to: which functions, classes, instances and containers each name, attribute, parameter and
return may hold, propagated over the scan's flows (`scan/values.py`) to a fixed point.

Flow-insensitive and context-insensitive (every assignment counts wherever it is; a function's
parameters merge all its callers' arguments). Only what changed is evaluated again; a set that grows
past `MAX_VALUES` becomes "unknown", and a spent budget stops the propagation where it is: both leave
the call to the name-based resolver, never to a hang. The values and how texts are read:
`index/value_texts.py`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.value_texts import (
    EMPTY, MAX_VALUES, TOP, UNKNOWN, Key, ValueEvaluator, first_param, parse,
)
from repo_reader.scan.facts import CallFact, DefFact, FlowFact, ModuleFacts

__all__ = ["BUDGET_PER_ITEM", "MAX_VALUES", "UNKNOWN", "PointsTo"]
ASSIGNED_ATTRIBUTE = re.compile(r"\.([A-Za-z_]\w*)$")  # `self.proj = ...` may write a field `proj`
BUDGET_PER_ITEM = 12  # evaluations allowed per flow or call, all rounds together


class PointsTo(ValueEvaluator):
    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex) -> None:
        super().__init__(symbols, classes)
        self.readers: dict[Key, list[int]] = {}
        self.returns_first: set[str] = set()  # functions that return their first parameter (`return func`)
        self.items: list[tuple[str, str, str, object]] = []  # (kind, module, scope, fact)
        self.targets: dict[int, frozenset[str]] = {}  # call item → what its callee evaluated to
        self.answers: dict[int, frozenset[str]] = {}  # id(CallFact) → its callee's values, once solved
        self._changed: set[Key] = set()
        self._signatures: dict[str, tuple[tuple[str, ...], frozenset[str], str | None, str | None]] = {}
        self._dunders = {name for info in classes.classes.values() for name in info.methods if name.startswith("__")}
        self.field_names = set()
        for facts in modules:
            self._collect(facts)
        for facts in modules:
            self._imports(facts)
        self._solve()
        self._keep_answers()

    def _collect(self, facts: ModuleFacts) -> None:
        module = facts.module
        self.bound.setdefault((module, ""), set()).update(facts.globals)
        decorated = {call.args[0] for call in facts.decorator_calls if call.args}
        self.decorated |= decorated
        for definition in facts.definitions:
            self._define(module, definition, f"{module}.{definition.qualname}" in decorated)
        for flow in facts.flows:
            if flow.target == "<return>":
                function = self.functions.get(f"{module}.{flow.scope}")
                if function and first_param(function[1]) == flow.source:
                    self.returns_first.add(f"{module}.{flow.scope}")
            elif flow.target.startswith("<global>"):
                self.bound[(module, "")].add(flow.target[8:])
            elif "." not in flow.target and "[" not in flow.target and not flow.target.startswith("<"):
                self.bound.setdefault((module, flow.scope), set()).add(flow.target)
            if (field := ASSIGNED_ATTRIBUTE.search(flow.target)) is not None:
                self.field_names.add(field.group(1))
            self.items.append(("flow", module, flow.scope, flow))
        chains: dict[str, list[CallFact]] = {}
        for call in facts.decorator_calls:
            chains.setdefault(call.args[0], []).append(call)
            if call.keywords and (field := ASSIGNED_ATTRIBUTE.search(call.keywords[0])) is not None:
                self.field_names.add(field.group(1))
            self._add_call("decorator", module, call)
        for chain in chains.values():
            self.items.append(("decorate", module, chain[0].scope, tuple(chain)))
        for call in facts.calls:
            self._add_call("call", module, call)
        for call in facts.implicit_calls:
            if call.callee.rpartition(".")[2] in self._dunders or not call.callee.endswith("__"):
                self._add_call("implicit", module, call)

    def _imports(self, facts: ModuleFacts) -> None:
        """A name imported twice (`try: from .fast import f` / `except ImportError: from .slow import f`)
        may hold either; the symbol table keeps the first."""
        seen: dict[str, list[str]] = {}
        for fact in facts.imports:
            if fact.local != "*" and "." not in fact.local:
                seen.setdefault(fact.local, []).append(fact.target)
        for local, targets in seen.items():
            if len(targets) > 1:
                for target in targets:
                    found = self.symbols.canonical(target)
                    for value in self._convert(found.qualname, found.internal, found.resolved):
                        self._seed(("v", facts.module, "", local), value)

    def _define(self, module: str, definition: DefFact, decorated: bool) -> None:
        qualname = f"{module}.{definition.qualname}"
        owner, _, name = definition.qualname.rpartition(".")
        self.bound.setdefault((module, owner), set()).add(name)
        self.kinds[(module, definition.qualname)] = "class" if definition.kind == "class" else "function"
        if definition.kind != "class":
            self.functions[qualname] = (module, definition)
            names = self.bound.setdefault((module, definition.qualname), set())
            names.update(param.name for param in definition.params)
            for param in definition.params:
                if param.kind == "vararg":
                    self._seed(("v", module, definition.qualname, param.name), f"k:<args>{qualname}")
                elif param.kind == "varkw":
                    self._seed(("v", module, definition.qualname, param.name), f"k:<kwargs>{qualname}")
                elif param.default and _simple(param.default):
                    self.items.append(("flow", module, owner, FlowFact(owner, f"<param:{qualname}:{param.name}>",
                                                                       _default_text(param.default))))
        if not decorated:
            self._seed(("v", module, owner, name), _defined_value(definition, qualname))

    def call_targets(self, call: CallFact) -> frozenset[str] | None:
        """What the callee of `call` (a fact this analysis was built from) may be; None if unknown."""
        return self.answers.get(id(call))

    def _keep_answers(self) -> None:
        """Keep what each call's callee may be (where known) and the nodes; drop the propagation's state
        (on transformers it held as much memory as the scan's facts)."""
        calls = {index: id(fact) for index, (kind, _, _, fact) in enumerate(self.items) if kind != "flow" and kind != "decorate"}
        self.answers = {calls[index]: targets for index, targets in self.targets.items()
                        if targets and UNKNOWN not in targets}
        self.items, self.targets, self.readers = [], {}, {}
        self._memo, self._attributes, self._where, self._fields, self._class_bindings = {}, {}, {}, {}, {}

    def _add_call(self, kind: str, module: str, call: CallFact) -> None:
        self.items.append((kind, module, call.scope, call))

    def _seed(self, key: Key, value: str) -> None:
        self.nodes[key] = self.nodes.get(key, EMPTY) | {value}

    # -- the fixed point -----------------------------------------------------------------------------

    def _solve(self) -> None:
        budget = BUDGET_PER_ITEM * len(self.items) + 1000
        pending: Iterable[int] = range(len(self.items))
        seeded_receivers = False
        while budget > 0:
            self._changed = set()
            self._memo, self._attributes = {}, {}
            for index in pending:
                budget -= 1
                self._run(index)
            dirty = sorted({reader for key in self._changed for reader in self.readers.get(key, ())})
            if not dirty and not seeded_receivers:
                seeded_receivers = True
                dirty = sorted({reader for key in self._seed_receivers() for reader in self.readers.get(key, ())})
            if not dirty:
                self._memo, self._attributes = {}, {}
                return
            if len(dirty) > budget:
                return  # spent: what is known so far stands, the rest stays to the name-based resolver
            pending = dirty

    def _seed_receivers(self) -> list[Key]:
        """Methods no known receiver reaches get their own class as `self` (a library's entry points)."""
        seeded: list[Key] = []
        for qualname, (module, definition) in self.functions.items():
            owner = qualname.rpartition(".")[0]
            first = first_param(definition)
            if definition.kind != "method" or first is None or owner not in self.classes.classes:
                continue
            if "staticmethod" in definition.decorators:
                continue
            key = ("v", module, definition.qualname, first)
            if not self.nodes.get(key):
                self.nodes[key] = frozenset({("c:" if "classmethod" in definition.decorators else "i:") + owner})
                seeded.append(key)
        return seeded

    def _run(self, index: int) -> None:
        kind, module, scope, fact = self.items[index]
        reads: set[Key] = set()
        if kind == "flow":
            assert isinstance(fact, FlowFact)
            self._store(module, scope, fact.target, self.evaluate(module, scope, fact.source, reads), reads)
        elif kind == "decorate":
            self._decorate(module, fact, reads)  # type: ignore[arg-type]
        else:
            assert isinstance(fact, CallFact)
            if kind == "implicit" and "." in fact.callee and not fact.callee.rpartition(".")[2].startswith("__"):
                targets = self._property(module, scope, fact.callee, reads)
            else:
                targets = self.evaluate(module, scope, fact.callee_value or fact.callee, reads)
            self.targets[index] = targets
            if UNKNOWN not in targets:
                self._bind(module, fact, targets, reads)
        for key in reads:
            readers = self.readers.setdefault(key, [])
            if not readers or readers[-1] != index:
                readers.append(index)

    def _property(self, module: str, scope: str, text: str, reads: set[Key]) -> frozenset[str]:
        """`obj.name` where `name` is a property: its getter."""
        parsed = parse(text)
        if parsed is None or not parsed[1]:
            return EMPTY
        receivers = self._chain(module, scope, parsed[0], parsed[1][:-1], reads)
        name = parsed[1][-1][1:]
        return frozenset(raw for receiver in receivers if receiver[:2] in ("i:", "c:")
                         for raw in self._class_attribute(receiver[2:], name, reads) if raw.startswith("pr:"))

    def _write(self, key: Key, values: frozenset[str]) -> None:
        old = self.nodes.get(key, EMPTY)
        if values <= old or old is TOP:
            return
        new = old | frozenset(map(sys.intern, values - old))  # one string per value, however often it is made
        self.nodes[key] = TOP if UNKNOWN in new or len(new) > MAX_VALUES else new
        self._changed.add(key)

    def _store(self, module: str, scope: str, target: str, values: frozenset[str], reads: set[Key]) -> None:
        if not values:
            return
        if target == "<return>":
            self._write(("r", f"{module}.{scope}"), values)
            return
        if target.startswith("<param:"):
            function, _, name = target[7:-1].rpartition(":")
            self._write(("v", self.functions[function][0], self.functions[function][1].qualname, name), values)
            return
        for prefix, where in (("<global>", ""), ("<nonlocal>", None)):
            if target.startswith(prefix):
                name = target[len(prefix):]
                home = where if where is not None else self._enclosing(module, scope, name)
                self._write(("v", module, home, name), values)
                return
        parsed = parse(target)
        if parsed is None:
            return
        head, parts = parsed
        if not parts:
            self._write(("v", module, scope, head), values)
            return
        receivers = self._chain(module, scope, head, parts[:-1], reads)
        last = parts[-1]
        for receiver in receivers:
            if last.startswith("["):
                self._store_item(receiver, last[1:-1], values)
            elif receiver.startswith("i:"):
                owners = self.field_owners.setdefault(last[1:], set())
                if receiver[2:] not in owners:  # readers along a deep mro look for new owners
                    owners.add(receiver[2:])
                    self._changed.add(("fo", last[1:]))
                self._write(("f", receiver[2:], last[1:]), values)
            elif receiver.startswith("m:"):
                self._write(("v", receiver[2:], "", last[1:]), values)

    def _store_item(self, receiver: str, key: str, values: frozenset[str]) -> None:
        if receiver.startswith("k:"):
            self._write(("k", receiver[2:], ""), values)
            if key and key != "*":
                self._write(("k", receiver[2:], key), values)

    def _enclosing(self, module: str, scope: str, name: str) -> str:
        parts = scope.split(".")[:-1]
        while parts:
            candidate = ".".join(parts)
            if name in self.bound.get((module, candidate), ()) and self.kinds.get((module, candidate)) == "function":
                return candidate
            parts.pop()
        return ""

    # -- calls: arguments into parameters ------------------------------------------------------------

    def _bind(self, module: str, call: CallFact, targets: frozenset[str], reads: set[Key]) -> None:
        for target in targets:
            function, receiver = self._callable(target)
            if function is None or function not in self.functions:
                continue
            home, definition = self.functions[function]
            signature = self._signatures.get(function) or self._signature(function, definition)
            params = signature[0]
            if receiver is not None and params:
                self._write(("v", home, definition.qualname, params[0]), frozenset({receiver}))
                params = params[1:]
            if call.refs or call.keyword_refs or call.arg_values or call.keyword_values:
                self._bind_arguments(module, call, home, definition.qualname, params, signature, reads)

    def _signature(self, function: str, definition: DefFact) -> tuple[tuple[str, ...], frozenset[str], str | None, str | None]:
        """(positional names, names a keyword can set, *args name, **kwargs name); memoised."""
        params = definition.params
        found = (tuple(param.name for param in params if param.kind == "positional"),
                 frozenset(param.name for param in params if param.kind in ("positional", "keyword")),
                 next((param.name for param in params if param.kind == "vararg"), None),
                 next((param.name for param in params if param.kind == "varkw"), None))
        self._signatures[function] = found
        return found

    def _bind_arguments(self, module: str, call: CallFact, home: str, scope: str, params: tuple[str, ...],
                        signature: tuple[tuple[str, ...], frozenset[str], str | None, str | None],
                        reads: set[Key]) -> None:
        _, by_name, vararg, varkw = signature
        qualname = f"{home}.{scope}"
        arguments = call.arg_values or call.refs
        for position, text in enumerate(arguments):
            if not text:
                continue
            if text.startswith("*"):
                values = self.evaluate(module, call.scope, text[1:] + "[*]", reads)
                for param in params[position:]:
                    self._write(("v", home, scope, param), values)
                if vararg:
                    self._write(("k", f"<args>{qualname}", ""), values)
                break
            if position < len(params):
                key = ("v", home, scope, params[position])
                if self.nodes.get(key) is not TOP:
                    self._write(key, self.evaluate(module, call.scope, text, reads))
            elif vararg:
                values = self.evaluate(module, call.scope, text, reads)
                self._write(("k", f"<args>{qualname}", ""), values)
        for keyword, text in call.keyword_values or call.keyword_refs:
            if not text:
                continue
            if keyword == "**":
                for name in by_name:
                    self._write(("v", home, scope, name), self.evaluate(module, call.scope, f"{text}[{name}]", reads))
                continue
            values = self.evaluate(module, call.scope, text, reads)
            if keyword in by_name:
                self._write(("v", home, scope, keyword), values)
            elif varkw:
                self._write(("k", f"<kwargs>{qualname}", ""), values)
                self._write(("k", f"<kwargs>{qualname}", keyword), values)

    def _callable(self, value: str) -> tuple[str | None, str | None]:
        """(function that runs, receiver bound to its first parameter) when `value` is called."""
        if value.startswith("f:"):
            return value[2:], None
        if value.startswith("bm:"):
            function, _, receiver = value[3:].partition("|")
            return function, receiver
        if value.startswith("c:"):
            return self.classes.find_method(value[2:], "__init__"), "i:" + value[2:]
        if value.startswith("i:"):
            return self.instance_call(value[2:]), value
        if value.startswith("p:"):
            return self._callable(value[2:])[0], None
        return None, None

    def _decorate(self, module: str, chain: tuple[CallFact, ...], reads: set[Key]) -> None:
        """`@a @b def f`: f holds a(b(f)); a decorator that returns its argument leaves f as it was."""
        qualname = chain[0].args[0]
        definition = self.functions.get(qualname)
        value = frozenset({_defined_value(definition[1], qualname) if definition else f"c:{qualname}"})
        for application in chain:
            applied = self.evaluate(module, application.scope, application.callee_value or application.callee, reads)
            result: set[str] = set()
            for decorator in applied:
                function, _ = self._callable(decorator)
                if function in self.returns_first or function is None and not decorator.startswith(("c:", "i:")):
                    result |= value  # a library's decorator, or one that returns what it is given
                else:
                    result |= self._call_result(module, application.scope, decorator, reads)
            if not applied:
                result = set(value)
            value = frozenset(result)
        self._store(module, chain[0].scope, application.keywords[0], value, reads)

    # -- evaluation ----------------------------------------------------------------------------------


def _defined_value(definition: DefFact, qualname: str) -> str:
    if definition.kind == "class":
        return "c:" + qualname
    decorators = {decorator.rpartition(".")[2] for decorator in definition.decorators}
    if "staticmethod" in decorators:
        return "sf:" + qualname
    if "classmethod" in decorators:
        return "cm:" + qualname
    if decorators & {"property", "cached_property"}:
        return "pr:" + qualname
    return "f:" + qualname


SIMPLE = re.compile(r"^(?:(?:functools\.)?partial\(\s*)?[A-Za-z_][\w.]*")


def _simple(default: str) -> bool:
    return bool(SIMPLE.match(default)) and default not in ("None", "True", "False")


def _default_text(default: str) -> str:
    """A parameter default's source text as a value text: `nn.LayerNorm`, `partial(nn.LayerNorm, ...)`."""
    match = re.match(r"^(?:functools\.)?partial\(\s*([A-Za-z_][\w.]*)", default)
    if match:
        return f"<partial({match.group(1)})>"
    return SIMPLE.match(default).group()  # type: ignore[union-attr]
