"""Options generated from dicts: `for k, v in D.items(): parser.add_argument(f"--{k}", default=v)`, with
D followed to where it is built, across files: `defaults = dict(lr=1e-4)`, `defaults.update(model_defaults())`,
a helper's `default_dict` parameter. Reads only the scan's facts (`DictFact`, `DictOptionFact`).
"""

from __future__ import annotations

from collections.abc import Callable

from repo_reader.index.symbols import SymbolTable
from repo_reader.index.symbols import scopes_outwards
from repo_reader.scan.facts import CallFact, DictEntry, DictFact, DictOptionFact, ModuleFacts, OptionFact

MAX_DEPTH = 8  # dicts merged into dicts merged into dicts: deeper than this is a cycle
Reached = Callable[[ModuleFacts, str], bool]  # whether the entry point reaches a scope of a module
Entries = dict[str, tuple[ModuleFacts, DictEntry]]  # key → the module and entry that last set it


class DictBook:
    """Every dict the scan saw, by (module, scope, name), and the calls of the helpers that turn one into options."""

    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable) -> None:
        self.symbols = symbols
        self.modules = {facts.module: facts for facts in modules}
        self.dicts: dict[tuple[str, str, str], list[DictFact]] = {}
        for facts in modules:
            for fact in facts.dicts:
                self.dicts.setdefault((facts.module, fact.scope, fact.target), []).append(fact)
        helpers = {fact.scope.rsplit(".", 1)[-1] for facts in modules for fact in facts.dict_options if fact.scope}
        self.calls: dict[str, list[tuple[ModuleFacts, CallFact]]] = {}  # helper name → calls spelling it
        for facts in modules:
            for call in facts.calls:
                name = call.callee.rsplit(".", 1)[-1]
                if name in helpers:
                    self.calls.setdefault(name, []).append((facts, call))

    def options(self, facts: ModuleFacts, fact: DictOptionFact, reached: Reached) -> list[tuple[ModuleFacts, OptionFact, int]]:
        """One option per key of the dict the loop iterates, located where the key's value is written."""
        found = self.entries(facts, fact.scope, fact.source) or self._passed_in(facts, fact, reached)
        return [(where, _option(fact, key, entry), entry.col) for key, (where, entry) in found.items()]

    def _passed_in(self, facts: ModuleFacts, fact: DictOptionFact, reached: Reached) -> Entries:
        """The loop iterates a parameter (`add_dict_to_argparser(parser, defaults)`): the dicts its reached callers pass."""
        definition = next((d for d in facts.definitions if d.qualname == fact.scope and d.kind != "class"), None)
        if definition is None:
            return {}
        params = [param.name for param in definition.params if param.kind == "positional"]
        if definition.kind == "method" and params:
            params = params[1:]
        qualname = f"{facts.module}.{fact.scope}"
        found: Entries = {}
        for caller, call in self.calls.get(fact.scope.rsplit(".", 1)[-1], ()):
            if not reached(caller, call.scope) or self.symbols.resolve(caller.module, call.callee).qualname != qualname:
                continue
            keyword = dict(call.keyword_refs).get(fact.source)
            position = params.index(fact.source) if fact.source in params else len(call.refs)
            reference = keyword or (call.refs[position] if position < len(call.refs) else "")
            for key, value in self.entries(caller, call.scope, reference).items():
                found.setdefault(key, value)
        return found

    def entries(self, facts: ModuleFacts, scope: str, name: str, depth: int = 0) -> Entries:
        """What the dict `name` holds in `scope` (or an enclosing one), in insertion order."""
        if not name or depth > MAX_DEPTH:
            return {}
        for enclosing in scopes_outwards(scope):
            written = self.dicts.get((facts.module, enclosing, name), [])
            assigned = [(a.line, a.value) for a in facts.assigns if a.kind == "call" and a.scope == enclosing
                        and a.target == name and a.value != "dict"] if "<" not in name else []
            if written or assigned:
                return self._replay(facts, enclosing, written, assigned, depth)
        return {}

    def _replay(self, facts: ModuleFacts, scope: str, written: list[DictFact], assigned: list[tuple[int, str]],
                depth: int) -> Entries:
        """Binds, updates and `name = defaults()` assignments in the order the code runs them."""
        bound_lines = {fact.line for fact in written if fact.kind == "bind"}
        steps: list[tuple[int, int, DictFact | str]] = [(fact.line, index, fact) for index, fact in enumerate(written)]
        steps += [(line, -1, callee) for line, callee in assigned if line not in bound_lines]
        found: Entries = {}
        for _, _, step in sorted(steps, key=lambda item: (item[0], item[1])):
            if isinstance(step, str):  # `name = model_defaults()`
                found = dict(self._returned(facts, f"{step}()", depth + 1))
                continue
            if step.kind == "bind":
                found = {}
            if step.merged:
                found.update(self._merged(facts, scope, step.merged, depth + 1))
            found.update((entry.key, (facts, entry)) for entry in step.entries)
        return found

    def _merged(self, facts: ModuleFacts, scope: str, merged: str, depth: int) -> Entries:
        """`defaults()` (what that function returns) or `other` (another dict in scope)."""
        if merged.endswith("()"):
            return self._returned(facts, merged, depth)
        return self.entries(facts, scope, merged, depth)

    def _returned(self, facts: ModuleFacts, called: str, depth: int) -> Entries:
        """The dict a repo function returns: `return dict(...)`, or `res = dict(...); ...; return res`."""
        qualname = self.symbols.resolve(facts.module, called[:-2]).qualname
        module, scope = self._split(qualname)
        target = self.modules.get(module)
        if target is None or depth > MAX_DEPTH:
            return {}
        written = self.dicts.get((target.module, scope, "<return>"))
        if written:
            return self._replay(target, scope, written, [], depth)
        for returning, name in target.returns:
            if returning == scope and name != "dict":
                found = self.entries(target, scope, name, depth + 1)
                if found:
                    return found
        return {}

    def _split(self, qualname: str) -> tuple[str, str]:
        """`pkg.settings.model_defaults` → ("pkg.settings", "model_defaults"); ("", ...) outside the repo."""
        module, _, scope = qualname.rpartition(".")
        while module and module not in self.modules:
            module, _, head = module.rpartition(".")
            scope = f"{head}.{scope}"
        return module, scope


def _option(fact: DictOptionFact, key: str, entry: DictEntry) -> OptionFact:
    """A literal's type is what the option parses (`--use_fp16 False` takes a value); a computed default
    is shown as its source text."""
    kind = entry.kind if entry.kind not in ("", "None") else None
    return OptionFact(fact.scope, (fact.prefix + key,), key.replace("-", "_"), entry.value, fact.help, kind,
                      False, (), None, entry.line)
