"""What a value text (`scan/facts.py`'s FlowFact) may hold, given what the points-to pass knows so far.

Values are strings: `f:q` function, `bm:q|receiver` bound method, `sf:q`/`cm:q`/`pr:q` static method,
class method and property as a class body holds them, `c:q` class, `i:q` instance, `m:q` module,
`x:q` library or builtin name, `xi:q` library instance, `xa:q.name` its attribute, `p:value` a
partial, `k:id` a container, `km:id|method` a container's method, `sp:class|receiver` a super()
proxy, `sr:method|value` a self-returning library method, `<lambda>`. Every node read is recorded, so
that what read it runs again when it grows.
"""

from __future__ import annotations

import functools
import re

from repo_reader.index.classes import WALK_STEPS, ClassIndex
from repo_reader.index.symbols import SymbolTable, scopes_outwards
from repo_reader.scan.facts import DefFact

MAX_VALUES = 32
UNKNOWN = "?"
TOP = frozenset({UNKNOWN})
EMPTY: frozenset[str] = frozenset()
SELF_RETURNING = frozenset("to cuda cpu train eval float half double bfloat16 requires_grad_".split())
LIBRARY_CONTAINERS = frozenset("Sequential ModuleList ModuleDict ParameterList ParameterDict".split())
CONTAINER_METHODS = frozenset("append add insert extend values items keys get pop setdefault copy update sort".split())
NAME = re.compile(r"[A-Za-z_]\w*")
Key = tuple[str, ...]  # ("v", module, scope, name) | ("f", class, attribute) | ("r", function) | ("k", container, key)


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


class ValueEvaluator:
    """The nodes (what each variable, field, return and container holds) and how texts read them."""

    def __init__(self, symbols: SymbolTable, classes: ClassIndex) -> None:
        self.symbols = symbols
        self.classes = classes
        self.nodes: dict[Key, frozenset[str]] = {}
        self.bound: dict[tuple[str, str], set[str]] = {}  # (module, scope) → names it binds
        self.kinds: dict[tuple[str, str], str] = {}  # (module, scope) → class | function
        self.functions: dict[str, tuple[str, DefFact]] = {}
        self.decorated: set[str] = set()  # what their names hold is their decorators' result
        self._memo: dict[tuple[str, str, str], tuple[frozenset[str], set[Key]]] = {}  # per round
        self._attributes: dict[tuple[str, str], tuple[frozenset[str], set[Key]]] = {}  # per round
        self._where: dict[tuple[str, str, str], Key | None] = {}
        self._fields: dict[tuple[str, str], list[Key]] = {}
        # attribute names some flow assigns (`x.name = ...`): only those can have a field node; None: any
        self.field_names: set[str] | None = None
        self.field_owners: dict[str, set[str]] = {}  # field name → classes with a field node for it
        self._class_bindings: dict[tuple[str, str], Key | None] = {}
        self._binders_by_name: dict[str, set[str]] | None = None

    def _read(self, key: Key, reads: set[Key]) -> frozenset[str]:
        reads.add(key)
        return self.nodes.get(key, EMPTY)

    def instance_call(self, qualname: str) -> str | None:
        info = self.classes.classes.get(qualname)
        if info is None:
            return None
        return self.classes.find_method(qualname, "forward" if info.framework else "__call__") or \
            self.classes.find_method(qualname, "__call__")

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
        for enclosing in scopes_outwards(scope):
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
        """The field nodes an instance's `name` may read: its own class's and its ancestors' (a method
        of a base whose receiver is unknown writes the base's). Along a deep mro, only the ancestors
        that hold such a field so far, and ("fo", name), which changes when another class gets one."""
        key = (qualname, name)
        found = self._fields.get(key)
        if found is not None:
            return found
        if self.field_names is not None and name not in self.field_names:
            found = []  # never assigned anywhere: no class along the mro can hold it
        else:
            order = self.classes.short_mro(qualname, WALK_STEPS)
            if order is None:
                owners = self.field_owners.get(name, ())
                return [("fo", name), *(("f", owner, name) for owner in owners if self.classes.inherits(qualname, owner))]
            found = [("f", owner, name) for owner in order]
        self._fields[key] = found
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
        owner = self.classes.first_owner(qualname, self._binders().get(name, ()))
        if owner is None:
            return None
        return ("v", self.classes.classes[owner].module, owner[len(self.classes.classes[owner].module) + 1 :], name)

    def _binders(self) -> dict[str, set[str]]:
        """Name → the repo classes whose body binds it; built once, after every module is collected."""
        if self._binders_by_name is None:
            self._binders_by_name = {}
            for qualname, info in self.classes.classes.items():
                for name in self.bound.get((info.module, qualname[len(info.module) + 1 :]), ()):
                    self._binders_by_name.setdefault(name, set()).add(qualname)
        return self._binders_by_name

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
            function = self.instance_call(rest)
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
                first = first_param(definition[1]) if definition else None
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


def first_param(definition: DefFact) -> str | None:
    positional = [param.name for param in definition.params if param.kind == "positional"]
    return positional[0] if positional else None
