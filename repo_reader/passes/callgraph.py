"""The call graph: every call in the repo resolved to a qualified name, and a networkx graph of them.

Calling an nn.Module instance goes to its `forward`; building a class goes to its `__init__`; a
DataLoader over a repo Dataset reaches `__getitem__`; Lightning's Trainer reaches `training_step`.
Calls it cannot resolve stay in the graph as unresolved edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import networkx as nx

from repo_reader.forking import in_two_halves
from repo_reader.index.classes import ClassIndex
from repo_reader.index.registries import BUILD_METHODS, registry_of_call
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import REGISTRY_PREFIX, TypeIndex
from repo_reader.model import CallEdge
from repo_reader.passes.call_targets import CallTargets
from repo_reader.scan.facts import CallFact, ModuleFacts

MODULE_METHODS = frozenset(
    "to cuda cpu train eval parameters named_parameters modules named_modules children state_dict "
    "load_state_dict zero_grad apply register_buffer register_parameter add_module requires_grad_ "
    "half float double bfloat16 register_forward_hook register_forward_pre_hook buffers named_buffers "
    "named_children get_submodule extra_repr type".split()
)
DATALOADERS = {"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"}
LIGHTNING_HOOKS = ("training_step", "validation_step", "test_step", "configure_optimizers")
DATAMODULE_HOOKS = ("setup", "train_dataloader", "val_dataloader", "test_dataloader")
IMPLICIT_TRIGGERS = frozenset({"DataLoader", "fit", "validate", "test", "LightningCLI", *BUILD_METHODS})
EdgeRow = tuple[str, str, str, int, int, bool, str]  # CallEdge's fields, in order
_EDGE_ORDER = itemgetter(0, 2, 3, 4, 1)  # caller, path, line, col, callee


class CallResolver:
    def __init__(self, symbols: SymbolTable, classes: ClassIndex, types: TypeIndex,
                 registries: dict[str, dict[str, str]], targets: CallTargets | None = None) -> None:
        self.targets = targets  # points-to answers, tried before the names
        self.symbols = symbols
        self.classes = classes
        self.types = types
        self.registries = registries
        self._strings: dict[str, str] = {}

    def edges(self, facts: ModuleFacts) -> list[EdgeRow]:
        """One module's call edges, as rows in CallEdge's field order."""
        result: list[EdgeRow] = []
        callers: dict[str, str] = {}  # one string per scope: the cached map stores each once
        intern = self._strings.setdefault
        for call in facts.calls:
            caller = callers.get(call.scope)
            if caller is None:
                caller = callers[call.scope] = f"{facts.module}.{call.scope}" if call.scope else facts.module
            path, line = facts.where(call.line)
            factories = self.types.factories(facts.module, call.callee)
            if factories:  # `models_mae.__dict__[args.model](...)` may call any of them
                result += [(caller, function, path, line, call.col, True, "call") for function in factories]
                continue
            found = self.targets.call(facts.module, call) if self.targets else None
            if found is not None:
                for callee, kind in found:
                    result.append((caller, intern(callee, callee), path, line, call.col, True, kind))
                    for extra, extra_kind in self.implicit(facts.module, call, callee):
                        result.append((caller, extra, path, line, call.col, True, extra_kind))
                continue
            callee, resolved, kind = self.resolve(facts.module, call)
            if not resolved and registry_of_call(callee, self.registries):
                resolved = True  # the registry's own build method, defined in a library or by the repo
            for one in self._expand_registry(callee):
                result.append((caller, intern(one, one), path, line, call.col, resolved, kind))
            for extra, extra_kind in self.implicit(facts.module, call, callee):
                result.append((caller, extra, path, line, call.col, True, extra_kind))
        if self.targets is not None:
            unwritten = [(call, self.targets.implicit(call)) for call in facts.implicit_calls]
            unwritten += [(call, self.targets.decorator(call)) for call in facts.decorator_calls]
            for call, found in unwritten:
                if found:
                    caller = callers.get(call.scope) or callers.setdefault(
                        call.scope, f"{facts.module}.{call.scope}" if call.scope else facts.module)
                    path, line = facts.where(call.line)
                    result += [(caller, intern(callee, callee), path, line, call.col, True, kind) for callee, kind in found]
        return result

    def all_edges(self, modules: Sequence[ModuleFacts]) -> list[EdgeRow]:
        return [row for facts in modules for row in self.edges(facts)]

    def _expand_registry(self, callee: str) -> list[str]:
        """A call on an object built by a registry may reach any class registered there."""
        if not callee.startswith(REGISTRY_PREFIX):
            return [callee]
        registry, _, method = callee[len(REGISTRY_PREFIX) :].partition(":")
        found = []
        for qualname in sorted(set(self.registries.get(registry, {}).values())):
            info = self.classes.classes[qualname]
            name = method or ("forward" if info.framework else "__call__")
            found.append(self.classes.find_method(qualname, name) or f"{qualname}.{name}")
        return found or [callee]

    # -- one call ------------------------------------------------------------------------------------
    def resolve(self, module: str, call: CallFact) -> tuple[str, bool, str]:
        """(callee, resolved, kind) for one call site."""
        text = call.callee
        if not text:
            return "<expression>", False, "call"
        head, _, rest = text.partition(".")
        owner = self.types.owner_class(module, call.scope) if call.scope else None
        if head == "self" and owner:
            found = self._on_self(owner, rest)
            if found:
                return found
        if head == "super()" and owner and rest:
            return self._on_super(owner, rest)
        if head.endswith("()") and head != "super()":  # `TrainLoop(...).run_loop()`
            built = self.types.type_of_callee(module, call.scope, head[:-2])
            if built and rest and "." not in rest:
                return self._on_instance(built, rest)
        held = self.types.variable(module, call.scope, head) if head not in ("self", "super()") else None
        if not held and rest and head not in ("self", "super()"):
            held = self._imported_global(module, head)
        if held:
            return self._on_instance(held, rest)
        found_symbol = self.symbols.resolve(module, text)
        if not found_symbol.resolved:
            nested = self._nested_definition(module, call.scope, text)
            if nested:
                return nested, True, "call"
        if found_symbol.qualname in self.classes.classes:
            init = self.classes.find_method(found_symbol.qualname, "__init__")
            return init or found_symbol.qualname, True, "construct"
        if found_symbol.internal and found_symbol.qualname not in self.symbols.definitions:
            return found_symbol.qualname, False, "call"
        return found_symbol.qualname, found_symbol.resolved, "call"

    def _nested_definition(self, module: str, scope: str, name: str) -> str | None:
        """A function defined inside an enclosing function (`def main(): def step(): ...; step()`)."""
        if not scope or "." in name:
            return None
        parts = scope.split(".")
        while parts:
            candidate = f"{module}.{'.'.join(parts)}.{name}"
            if self.symbols.definitions.get(candidate) == "function":
                return candidate
            parts.pop()
        return None

    def _imported_global(self, module: str, name: str) -> str | None:
        """The class of a module-level object imported from another repo module (`MODELS`)."""
        found = self.symbols.resolve(module, name)
        if not found.internal:
            return None
        owner, _, attribute = found.qualname.rpartition(".")
        return self.types.locals.get((owner, "", attribute))

    def _on_self(self, owner: str, rest: str) -> tuple[str, bool, str] | None:
        if not rest:  # `self(x)` in a module: its own forward
            forward = self.classes.find_method(owner, "forward") or self.classes.find_method(owner, "__call__")
            return (forward, True, "module-call") if forward else None
        name, _, method = rest.partition(".")
        name = name.removesuffix("[]")
        if not method:
            found = self.classes.find_method(owner, name)
            if found:
                return found, True, "call"
            held = self.types.attribute(owner, name) or self._single_element(owner, rest)
            if held:
                return self._on_instance(held, "")
            if self.classes.classes[owner].framework and name in MODULE_METHODS:
                return f"torch.nn.Module.{name}", True, "call"
            return None
        held = self.types.attribute(owner, name)
        if held and "." not in method:
            nested = self.types.attribute(owner, f"{name}.{method}")  # self.transformer.wte(idx)
            if nested:
                return self._on_instance(nested, "")
            return self._on_instance(held, method)
        return None

    def _single_element(self, owner: str, rest: str) -> str | None:
        if not rest.endswith("[]"):
            return None
        elements = self.types.container(owner, rest[:-2])
        return elements[0] if len(elements) == 1 else None

    def _on_super(self, owner: str, rest: str) -> tuple[str, bool, str]:
        method = rest.split(".")[-1]
        for base in self.classes.classes[owner].bases:
            found = self.classes.find_method(base, method) if base in self.classes.classes else None
            if found:
                return found, True, "call"
            if base not in self.classes.classes:
                return f"{base}.{method}", True, "call"
        return f"super().{method}", False, "call"

    def _on_instance(self, held: str, method: str) -> tuple[str, bool, str]:
        """A call on an object of class `held`: `obj(x)` (method "") or `obj.method(x)`."""
        if held.startswith(REGISTRY_PREFIX):
            return f"{held}:{method}", True, "module-call" if not method else "call"
        if held in self.classes.classes:
            info = self.classes.classes[held]
            name = method or ("forward" if info.framework else "__call__")
            found = self.classes.find_method(held, name)
            if found:
                return found, True, "module-call" if not method and info.framework else "call"
            if info.framework and (not method or method in MODULE_METHODS):
                return f"torch.nn.Module.{method or 'forward'}", True, "call"
            return f"{held}.{name}", False, "call"
        if "." in method:
            return f"{held}.{method}", False, "call"
        return (f"{held}.{method}" if method else held), True, "module-call" if not method else "call"

    # -- edges the libraries make for the user -------------------------------------------------------
    def implicit(self, module: str, call: CallFact, callee: str) -> list[tuple[str, str]]:
        last = call.callee.rsplit(".", 1)[-1]
        if last not in IMPLICIT_TRIGGERS and not callee.endswith(".__init__") and callee not in self.classes.classes:
            return []  # most calls: nothing a library does behind them
        extra: list[tuple[str, str]] = []
        registry = registry_of_call(callee, self.registries) or registry_of_call(
            self.symbols.resolve(module, call.callee).qualname, self.registries)
        if registry:
            for qualname in sorted(self.registries[registry].values()):
                extra.append((self.classes.find_method(qualname, "__init__") or qualname, "registry"))
                if self.classes.classes[qualname].is_dataset:
                    extra += self._hooks(qualname, ("__getitem__", "__iter__"), "data")
        base = callee.rsplit(".", 1)[0] if callee.endswith(".__init__") else callee
        info = self.classes.classes.get(base)
        if info is not None and info.is_dataset:
            extra += self._hooks(base, ("__getitem__", "__iter__"), "data")
        if callee in DATALOADERS and call.refs:
            held = self.types.type_of_reference(module, call.scope, call.refs[0])
            if held and held in self.classes.classes and self.classes.classes[held].is_dataset:
                extra += self._hooks(held, ("__getitem__", "__iter__"), "data")
        if callee.endswith((".fit", ".validate", ".test")) and call.refs:
            for reference in call.refs[:2]:
                held = self.types.type_of_reference(module, call.scope, reference)
                extra += self._framework_hooks(held)
        if callee.endswith("LightningCLI"):
            for reference in call.refs[:2]:
                found = self.symbols.resolve(module, reference).qualname
                extra += self._framework_hooks(found)
        return extra

    def _framework_hooks(self, held: str | None) -> list[tuple[str, str]]:
        info = self.classes.classes.get(held or "")
        if info is None:
            return []
        if info.framework == "lightning":
            return self._hooks(info.qualname, LIGHTNING_HOOKS, "framework")
        if info.is_datamodule:
            return self._hooks(info.qualname, DATAMODULE_HOOKS, "framework")
        return []

    def _hooks(self, qualname: str, names: tuple[str, ...], kind: str) -> list[tuple[str, str]]:
        return [(found, kind) for name in names if (found := self.classes.find_method(qualname, name))]


def build_edges(modules: tuple[ModuleFacts, ...], resolver: CallResolver) -> tuple[CallEdge, ...]:
    """Every call edge, sorted by caller and place; half the modules are resolved in a forked child."""
    rows = in_two_halves(modules, resolver.all_edges)
    rows.sort(key=_EDGE_ORDER)
    return tuple(CallEdge(*row) for row in rows)



def build_graph(edges: tuple[CallEdge, ...], nodes: list[str]) -> nx.DiGraph:
    """Nodes are the repo's definitions and modules; resolved external callees become leaf nodes."""
    sites: dict[tuple[str, str], list[CallEdge]] = {}
    for edge in edges:
        sites.setdefault((edge.caller, edge.callee), []).append(edge)
    internal = set(nodes)
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes, internal=True)
    graph.add_nodes_from(({callee for _, callee in sites} | {caller for caller, _ in sites}) - internal, internal=False)
    graph.add_edges_from(
        (caller, callee, {"sites": found, "resolved": found[0].resolved, "kind": found[0].kind})
        for (caller, callee), found in sites.items()
    )
    return graph
