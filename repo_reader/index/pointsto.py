"""Points-to: which functions, classes, instances and containers each name, attribute, parameter and
return may hold, propagated over the scan's flows (`scan/values.py`) to a fixed point.

Flow-insensitive and context-insensitive (every assignment counts wherever it is; a function's
parameters merge all its callers' arguments). Only what changed is evaluated again; a set that grows
past `MAX_VALUES` becomes "unknown", and a spent budget stops the propagation where it is: both leave
the call to the name-based resolver, never to a hang.

Values are strings: `f:q` function, `bm:q|receiver` bound method, `sf:q`/`cm:q`/`pr:q` static method,
class method and property as a class body holds them, `c:q` class, `i:q` instance, `m:q` module,
`x:q` library or builtin name, `xi:q` library instance, `xa:q.name` its attribute, `p:value` a partial, `k:id` a container,
`km:id|method` a container's method, `sp:class|receiver` a super() proxy, `sr:method|value` a
self-returning library method, `<lambda>`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.scan.facts import CallFact, DefFact, FlowFact, ModuleFacts

MAX_VALUES = 32
UNKNOWN = "?"
TOP = frozenset({UNKNOWN})
EMPTY: frozenset[str] = frozenset()
BUDGET_PER_ITEM = 12  # evaluations allowed per flow or call, all rounds together
SELF_RETURNING = frozenset("to cuda cpu train eval float half double bfloat16 requires_grad_".split())
LIBRARY_CONTAINERS = frozenset("Sequential ModuleList ModuleDict ParameterList ParameterDict".split())
CONTAINER_METHODS = frozenset("append add insert extend values items keys get pop setdefault copy update sort".split())
NAME = re.compile(r"[A-Za-z_]\w*")
Key = tuple[str, ...]


@functools.lru_cache(maxsize=200_000)
def parse(text: str) -> tuple[str, tuple[str, ...]] | None:
    """`a.b()[k]` → ("a", (".b", "()", "[k]")); an atom `<...>` heads the chain; None if malformed."""
    if text.startswith("<"):
        depth = 0
        for end, char in enumerate(text):
            depth += (char == "<") - (char == ">")
            if depth == 0:
                break
        else:
            return None
        head, index = text[: end + 1], end + 1
    else:
        match = NAME.match(text)
        if match is None:
            return None
        head, index = match.group(), match.end()
    parts: list[str] = []
    while index < len(text):
        if text.startswith("()", index):
            parts.append("()")
            index += 2
        elif text[index] == ".":
            match = NAME.match(text, index + 1)
            if match is None:
                return None
            parts.append("." + match.group())
            index = match.end()
        elif text[index] == "[":
            close = text.find("]", index)
            if close < 0:
                return None
            parts.append(text[index : close + 1])
            index = close + 1
        else:
            return None
    return head, tuple(parts)


class PointsTo:
    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex) -> None:
        self.symbols = symbols
        self.classes = classes
        self.nodes: dict[Key, frozenset[str]] = {}
        self.readers: dict[Key, list[int]] = {}
        self.bound: dict[tuple[str, str], set[str]] = {}
        self.kinds: dict[tuple[str, str], str] = {}  # (module, scope) → class | function
        self.functions: dict[str, tuple[str, DefFact]] = {}
        self.returns_first: set[str] = set()  # functions that return their first parameter (`return func`)
        self.items: list[tuple[str, str, str, object]] = []  # (kind, module, scope, fact)
        self.targets: dict[int, frozenset[str]] = {}  # call item → what its callee evaluated to
        self.call_items: dict[int, int] = {}  # id(CallFact) → item index
        self._changed: set[Key] = set()
        self._memo: dict[tuple[str, str, str], tuple[frozenset[str], set[Key]]] = {}
        self._where: dict[tuple[str, str, str], Key | None] = {}
        self._attributes: dict[tuple[str, str], tuple[frozenset[str], set[Key]]] = {}  # per round
        self._fields: dict[tuple[str, str], list[Key]] = {}
        self._class_bindings: dict[tuple[str, str], Key | None] = {}
        self._signatures: dict[str, tuple[tuple[str, ...], frozenset[str], str | None, str | None]] = {}
        self.decorated: set[str] = set()  # what their names hold is their decorators' result
        self._dunders = {name for info in classes.classes.values() for name in info.methods if name.startswith("__")}
        for facts in modules:
            self._collect(facts)
        for facts in modules:
            self._imports(facts)
        self._solve()

    # -- facts → nodes and items -------------------------------------------------------------------
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
                if function and _first_param(function[1]) == flow.source:
                    self.returns_first.add(f"{module}.{flow.scope}")
            elif flow.target.startswith("<global>"):
                self.bound[(module, "")].add(flow.target[8:])
            elif "." not in flow.target and "[" not in flow.target and not flow.target.startswith("<"):
                self.bound.setdefault((module, flow.scope), set()).add(flow.target)
            self.items.append(("flow", module, flow.scope, flow))
        chains: dict[str, list[CallFact]] = {}
        for call in facts.decorator_calls:
            chains.setdefault(call.args[0], []).append(call)
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
        index = self.call_items.get(id(call))
        targets = self.targets.get(index) if index is not None else None
        return None if not targets or UNKNOWN in targets else targets

    def _add_call(self, kind: str, module: str, call: CallFact) -> None:
        self.call_items[id(call)] = len(self.items)
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
        seeded = []
        for qualname, (module, definition) in self.functions.items():
            owner = qualname.rpartition(".")[0]
            first = _first_param(definition)
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
        new = old | values
        self.nodes[key] = TOP if UNKNOWN in new or len(new) > MAX_VALUES else new
        self._changed.add(key)

    def _read(self, key: Key, reads: set[Key]) -> frozenset[str]:
        reads.add(key)
        return self.nodes.get(key, EMPTY)

    # -- stores --------------------------------------------------------------------------------------
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
            return self._instance_call(value[2:]), value
        if value.startswith("p:"):
            return self._callable(value[2:])[0], None
        return None, None

    def _instance_call(self, qualname: str) -> str | None:
        info = self.classes.classes.get(qualname)
        if info is None:
            return None
        return self.classes.find_method(qualname, "forward" if info.framework else "__call__") or \
            self.classes.find_method(qualname, "__call__")

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
    def evaluate(self, module: str, scope: str, text: str, reads: set[Key]) -> frozenset[str]:
        """What `text` may hold in `scope`; memoised within a round (a stale answer is corrected in the
        next round: whoever read it is a reader of what changed)."""
        parsed = parse(text)
        if parsed is None:
            return EMPTY
        if not parsed[1]:
            return self._head(module, scope, parsed[0], reads)
        memo_key = (module, scope, text)
        memo = self._memo.get(memo_key)
        if memo is not None:
            reads |= memo[1]
            return memo[0]
        own: set[Key] = set()
        values = self._chain(module, scope, parsed[0], parsed[1], own)
        self._memo[memo_key] = (values, own)
        reads |= own
        return values

    def _chain(self, module: str, scope: str, head: str, parts: tuple[str, ...], reads: set[Key]) -> frozenset[str]:
        values = self._head(module, scope, head, reads)
        for part in parts:
            if not values or UNKNOWN in values:
                return values
            found: set[str] = set()
            for value in values:
                if part == "()":
                    found |= self._call_result(module, scope, value, reads)
                elif part[0] == ".":
                    found |= self._attribute(value, part[1:], reads)
                else:
                    found |= self._item(value, part[1:-1], reads)
            values = TOP if len(found) > MAX_VALUES else frozenset(found)
        return values

    def _head(self, module: str, scope: str, head: str, reads: set[Key]) -> frozenset[str]:
        if head[0] != "<":
            return self._name(module, scope, head, reads)
        if head.startswith("<fn:"):
            qualname = head[4:-1]
            return frozenset({("c:" if qualname in self.classes.classes else "f:") + qualname})
        if head.startswith("<module:"):
            name = head[8:-1]
            return frozenset({("m:" if self.symbols.is_module(name) else "x:") + name})
        if head.startswith("<partial("):
            return frozenset("p:" + value for value in self.evaluate(module, scope, head[9:-2], reads)
                             if value != UNKNOWN) or EMPTY
        if head == "<lambda>":
            return frozenset({head})
        if "@" in head:  # a container literal
            return frozenset({f"k:{module}{head}"})
        return EMPTY

    def _name(self, module: str, scope: str, name: str, reads: set[Key]) -> frozenset[str]:
        where = (module, scope, name)
        key = self._where[where] if where in self._where else self._where.setdefault(where, self._binding(*where))
        if key is None:
            return self._global(module, name, reads)
        found = self._read(key, reads)
        return found | self._global(module, name, reads) if not key[2] else found

    def _binding(self, module: str, scope: str, name: str) -> Key | None:
        """The variable `name` reads in `scope`: the innermost enclosing scope that binds it."""
        for enclosing in _scopes_outwards(scope):
            if enclosing and enclosing != scope and self.kinds.get((module, enclosing)) == "class":
                continue  # a class body's names are not visible inside its methods
            if name in self.bound.get((module, enclosing), ()):
                return ("v", module, enclosing, name)
        return None

    def _global(self, module: str, name: str, reads: set[Key]) -> frozenset[str]:
        """A module-level name: a definition, an import, a builtin, or a variable of another module."""
        found = self._static(module, name)
        if found:
            return found
        target = self.symbols.resolve(module, name)
        owner, _, attribute = target.qualname.rpartition(".")
        if target.internal and owner != module and attribute in self.bound.get((owner, ""), ()):
            return self._read(("v", owner, "", attribute), reads)
        return found

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one resolver per analysis
    def _static(self, module: str, dotted: str) -> frozenset[str]:
        """What the symbol table says `dotted` names in `module` (definitions, imports, builtins)."""
        found = self.symbols.resolve(module, dotted)
        return self._convert(found.qualname, found.internal, found.resolved)

    def _convert(self, qualname: str, internal: bool, resolved: bool) -> frozenset[str]:
        if qualname in self.classes.classes:
            return frozenset({"c:" + qualname})
        if qualname in self.functions:
            if qualname in self.decorated:
                return EMPTY  # the decorators' result is what the name holds
            return frozenset({"f:" + qualname})
        if self.symbols.is_module(qualname):
            return frozenset({"m:" + qualname})
        if resolved and not internal:
            return frozenset({"x:" + qualname})
        return EMPTY

    def _attribute(self, value: str, name: str, reads: set[Key]) -> frozenset[str]:
        kind, _, rest = value.partition(":")
        if kind == "i":
            return self._instance_attribute(rest, name, reads)
        if kind == "c":
            return frozenset(self._on_class(raw, rest) for raw in self._class_attribute(rest, name, reads)
                             if not raw.startswith("pr:"))
        if kind == "m":
            if name in self.bound.get((rest, ""), ()):
                return self._read(("v", rest, "", name), reads) | self._static(rest, name)
            found = self.symbols.canonical(f"{rest}.{name}")
            return self._convert(found.qualname, found.internal, found.resolved)
        if kind == "x":
            return frozenset({f"x:{rest}.{name}"})
        if kind == "xi" and rest.rpartition(".")[2] not in LIBRARY_CONTAINERS:
            return frozenset({f"xa:{rest}.{name}"})  # `optimizer.step`: a method, by the class's import path
        if kind == "k" and name in CONTAINER_METHODS:
            return frozenset({f"km:{rest}|{name}"})
        if kind == "sp":
            return self._super_attribute(rest, name)
        return EMPTY

    def _instance_attribute(self, qualname: str, name: str, reads: set[Key]) -> frozenset[str]:
        memo_key = (qualname, name)
        memo = self._attributes.get(memo_key)
        if memo is not None:
            reads |= memo[1]
            return memo[0]
        own: set[Key] = set()
        found: set[str] = set()
        for key in self._field_keys(qualname, name):
            own.add(key)
            found |= self.nodes.get(key, EMPTY)
        for raw in self._class_attribute(qualname, name, own):
            if raw.startswith("pr:"):
                found |= self._read(("r", raw[3:]), own)
            elif raw.startswith("f:"):
                found.add(f"bm:{raw[2:]}|i:{qualname}")
            else:
                found.add(self._on_class(raw, qualname))
        info = self.classes.classes.get(qualname)
        if not found and name in SELF_RETURNING and info is not None and info.framework:
            found.add(f"sr:{name}|i:{qualname}")
        values = frozenset(found)
        self._attributes[memo_key] = (values, own)
        reads |= own
        return values

    def _field_keys(self, qualname: str, name: str) -> list[Key]:
        key = (qualname, name)
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = [("f", owner, name) for owner in self.classes.mro(qualname)]
        return found

    def _on_class(self, raw: str, qualname: str) -> str:
        if raw.startswith("sf:"):
            return "f:" + raw[3:]
        if raw.startswith("cm:"):
            return f"bm:{raw[3:]}|c:{qualname}"
        return raw

    def _class_attribute(self, qualname: str, name: str, reads: set[Key]) -> frozenset[str]:
        """What the first class along the MRO that binds `name` in its body holds."""
        memo_key = (qualname, name)
        if memo_key in self._class_bindings:
            key = self._class_bindings[memo_key]
        else:
            key = self._class_bindings[memo_key] = self._class_binding(qualname, name)
        return self._read(key, reads) if key is not None else EMPTY

    def _class_binding(self, qualname: str, name: str) -> Key | None:
        for owner in self.classes.mro(qualname):
            info = self.classes.classes[owner]
            scope = owner[len(info.module) + 1 :]
            if name in self.bound.get((info.module, scope), ()):
                return ("v", info.module, scope, name)
        return None

    def _super_attribute(self, rest: str, name: str) -> frozenset[str]:
        start, _, receiver = rest.partition("|")
        concrete = receiver[2:]
        order = self.classes.mro(concrete) if concrete in self.classes.classes else [start]
        if start not in order:
            return EMPTY
        after = order[order.index(start) + 1 :]
        for owner in after:
            if name in self.classes.classes[owner].methods:
                return frozenset({f"bm:{owner}.{name}|{receiver}"})
        for owner in order[order.index(start) :]:
            for base in self.classes.classes[owner].bases:
                if base not in self.classes.classes:
                    return frozenset({f"x:{base}.{name}"})
        return EMPTY

    def _call_result(self, module: str, scope: str, value: str, reads: set[Key]) -> frozenset[str]:
        kind, _, rest = value.partition(":")
        if kind in ("f", "bm"):
            return self._read(("r", rest.partition("|")[0]), reads)
        if kind == "c":
            return frozenset({"i:" + rest})
        if kind == "i":
            function = self._instance_call(rest)
            return self._read(("r", function), reads) if function else EMPTY
        if kind == "p":
            return self._call_result(module, scope, rest, reads)
        if kind == "x":
            if rest == "<builtin>.super":
                return self._super(module, scope, reads)
            return frozenset({"xi:" + rest}) if rest.rpartition(".")[2][:1].isupper() else EMPTY
        if kind == "km":
            container, _, method = rest.partition("|")
            if method in ("values", "copy"):
                return frozenset({"k:" + container})
            if method == "items":
                return frozenset({"kp:" + container})
            if method in ("get", "pop", "setdefault"):
                return self._read(("k", container, ""), reads)
            return EMPTY
        if kind == "sr":
            return frozenset({rest.partition("|")[2]})
        return EMPTY

    def _super(self, module: str, scope: str, reads: set[Key]) -> frozenset[str]:
        """`super()` inside a method of class K: a proxy per receiver the method's first parameter holds."""
        parts = scope.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            owner = f"{module}.{'.'.join(parts[:cut])}"
            if owner in self.classes.classes:
                method = ".".join(parts[: cut + 1])
                definition = self.functions.get(f"{module}.{method}")
                first = _first_param(definition[1]) if definition else None
                if first is None:
                    return EMPTY
                receivers = self._read(("v", module, method, first), reads)
                return frozenset(f"sp:{owner}|{receiver}" for receiver in receivers if receiver[:2] in ("i:", "c:"))
        return EMPTY

    def _item(self, value: str, key: str, reads: set[Key]) -> frozenset[str]:
        kind, _, rest = value.partition(":")
        if kind == "k":
            if key and key != "*":
                keyed = self._read(("k", rest, key), reads)
                if keyed:
                    return keyed
            return self._read(("k", rest, ""), reads)
        if kind == "kp":
            return frozenset({"kv:" + rest}) if key in ("*", "") else EMPTY
        if kind == "kv":
            return self._read(("k", rest, ""), reads) if key == "1" else EMPTY
        if kind == "i":
            method = "__iter__" if key == "*" else "__getitem__"
            function = self.classes.find_method(rest, method)
            if function is None:
                return EMPTY
            result = self._read(("r", function), reads)
            if key != "*":
                return result
            return frozenset(found for iterator in result for found in self._next(iterator, reads))
        return EMPTY

    def _next(self, iterator: str, reads: set[Key]) -> frozenset[str]:
        if not iterator.startswith("i:"):
            return EMPTY
        function = self.classes.find_method(iterator[2:], "__next__")
        return self._read(("r", function), reads) if function else EMPTY


def _first_param(definition: DefFact) -> str | None:
    positional = [param.name for param in definition.params if param.kind == "positional"]
    return positional[0] if positional else None


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


@functools.lru_cache(maxsize=65536)
def _scopes_outwards(scope: str) -> tuple[str, ...]:
    parts = scope.split(".") if scope else []
    return tuple(".".join(parts[:cut]) for cut in range(len(parts), -1, -1))
