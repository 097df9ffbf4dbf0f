"""Models and datasets: every nn.Module subclass with the layers its `__init__` builds, how the repo's
own models compose, where each is constructed, and which are the top-level networks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from repo_reader.index.classes import ClassIndex, ClassInfo, external_module_framework
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex
from repo_reader.model import ConstructionSite, DatasetInfo, Location, ModelInfo, Submodule, place_text
from repo_reader.index.registries import BUILD_METHODS, registry_of_call
from repo_reader.passes.trained import TrainedBy
from repo_reader.scan.facts import AssignFact, CallFact, DefFact, ModuleFacts

CONTAINERS = {
    "torch.nn.Sequential": "Sequential", "torch.nn.ModuleList": "ModuleList", "torch.nn.ModuleDict": "ModuleDict",
    "torch.nn.modules.container.Sequential": "Sequential", "torch.nn.modules.container.ModuleList": "ModuleList",
    "torch.nn.modules.container.ModuleDict": "ModuleDict",
}


class ModelFinder:
    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex,
                 types: TypeIndex, registries: dict[str, dict[str, str]]) -> None:
        self.by_module = {facts.module: facts for facts in modules}
        self.symbols = symbols
        self.classes = classes
        self.types = types
        self.registries = registries
        self.built_by_class: dict[str, set[str]] = {}  # class qualname → repo classes its methods build
        self.sites = self._construction_sites(modules)
        self.factories = self._factories(modules)
        self.assigns_by_class: dict[str, list[tuple[ModuleFacts, AssignFact]]] = {}
        self.definitions: dict[str, tuple[ModuleFacts, DefFact]] = {}
        for facts in modules:
            for definition in facts.definitions:
                self.definitions[f"{facts.module}.{definition.qualname}"] = (facts, definition)
            for assign in facts.assigns:
                if assign.scope and assign.target.startswith("self."):
                    owner = self.types.owner_class(facts.module, assign.scope)
                    if owner:
                        self.assigns_by_class.setdefault(owner, []).append((facts, assign))

    def _construction_sites(self, modules: tuple[ModuleFacts, ...]) -> dict[str, list[ConstructionSite]]:
        sites: dict[str, list[ConstructionSite]] = {}
        for facts in modules:
            for call in facts.calls:
                if call.callee.endswith(BUILD_METHODS) and self._registry_build(facts, call, sites):
                    continue
                if not call.callee:
                    continue
                if not call.callee.split(".")[-1][:1].isupper():
                    self._built_through_helper(facts, call, sites)
                    continue
                if call.callee.endswith("LightningCLI"):
                    self._handed_to_framework(facts, call.refs, call.line, call.col, call.scope, sites)
                    continue
                qualname = self.symbols.resolve(facts.module, call.callee).qualname
                if qualname in self.classes.classes:
                    owner = self.types.owner_class(facts.module, call.scope) if call.scope else None
                    if owner:
                        self.built_by_class.setdefault(owner, set()).add(qualname)
                    path, line = facts.where(call.line)
                    caller = f"{facts.module}.{call.scope}" if call.scope else facts.module
                    sites.setdefault(qualname, []).append(ConstructionSite(path, line, call.col, caller, call.args))
        return sites

    def _factories(self, modules: tuple[ModuleFacts, ...]) -> dict[str, tuple[str, ...]]:
        """Class → the public module-level functions returning it: `def vit_base_patch16_224(...)` under
        `@register_model`, `def mae_vit_base(...)`: what a registry or `--model NAME` calls it."""
        found: dict[str, list[str]] = {}
        for facts in modules:
            for definition in facts.definitions:
                if definition.kind != "function" or "." in definition.qualname or definition.qualname.startswith("_"):
                    continue
                built = self.types.returns.get(f"{facts.module}.{definition.qualname}")
                if built in self.classes.classes:
                    found.setdefault(built, []).append(f"{facts.module}.{definition.qualname}")
        return {qualname: tuple(sorted(set(names), key=lambda name: (name.rsplit(".", 1)[-1], name)))
                for qualname, names in found.items()}

    def _built_through_helper(self, facts: ModuleFacts, call: CallFact, sites: dict[str, list[ConstructionSite]]) -> None:
        """`build_model_with_cfg(VisionTransformer, ...)`: a helper that builds the class it is given."""
        index = self.types.parametric.get(self.symbols.resolve(facts.module, call.callee).qualname)
        if index is None:
            return
        qualname = self.types.class_argument(facts.module, call.scope, call.callee, call.refs, index)
        if qualname is None:
            return
        path, line = facts.where(call.line)
        caller = f"{facts.module}.{call.scope}" if call.scope else facts.module
        helper = call.callee.rsplit(".", 1)[-1]  # its arguments are the helper's, not the class's
        sites.setdefault(qualname, []).append(ConstructionSite(path, line, call.col, caller, (f"<built by {helper}>",)))

    def _registry_build(self, facts: ModuleFacts, call: CallFact, sites: dict[str, list[ConstructionSite]]) -> bool:
        registry = registry_of_call(self.symbols.resolve(facts.module, call.callee).qualname, self.registries)
        if registry is None:
            return False
        path, line = facts.where(call.line)
        caller = f"{facts.module}.{call.scope}" if call.scope else facts.module
        for key, qualname in sorted(self.registries[registry].items()):
            site = ConstructionSite(path, line, call.col, caller, (f"<registry {registry.rsplit('.', 1)[-1]}[{key!r}]>",))
            sites.setdefault(qualname, []).append(site)
        return True

    def _handed_to_framework(self, facts: ModuleFacts, refs: tuple[str, ...], line: int, col: int, scope: str,
                             sites: dict[str, list[ConstructionSite]]) -> None:
        """`LightningCLI(Model, DataModule)` builds the classes it is handed."""
        path, where = facts.where(line)
        caller = f"{facts.module}.{scope}" if scope else facts.module
        for reference in refs:
            qualname = self.symbols.resolve(facts.module, reference).qualname
            if qualname in self.classes.classes:
                sites.setdefault(qualname, []).append(ConstructionSite(path, where, col, caller, ("<built by LightningCLI>",)))

    def is_module_type(self, qualname: str) -> bool:
        info = self.classes.classes.get(qualname)
        return bool(info.framework) if info else external_module_framework(qualname) is not None

    def submodules(self, info: ClassInfo) -> tuple[Submodule, ...]:
        found: dict[str, Submodule] = {}
        for facts, assign in self.assigns_by_class.get(info.qualname, ()):
            name = assign.target[5:]
            if "." in name:
                continue
            submodule = self._submodule(facts, assign, name)
            if submodule is not None and name not in found:
                found[name] = submodule
        return tuple(sorted(found.values(), key=lambda s: (s.line, s.col)))

    def _submodule(self, facts: ModuleFacts, assign: AssignFact, name: str) -> Submodule | None:
        path, line = facts.where(assign.line)
        children = tuple(
            child for child in (self.types.type_of_callee(facts.module, assign.scope, c, line=assign.line)
                                for c in assign.children) if child
        )
        if assign.kind in ("list", "dict", "tuple"):
            modules = tuple(child for child in children if self.is_module_type(child))
            if not modules:
                return None
            return Submodule(name, assign.kind, line, assign.col, assign.kind, assign.in_loop, modules)
        if assign.kind not in ("call", "setattr", "append"):
            return None
        built = self.types.type_of_callee(facts.module, assign.scope, assign.value, line=assign.line)
        if built is None or not self.is_module_type(built):
            return None
        container = CONTAINERS.get(built, "")
        if assign.kind == "append":
            return Submodule(name, "list", line, assign.col, "list", True, (built,))
        return Submodule(name, built, line, assign.col, container, assign.in_loop,
                         tuple(child for child in children if self.is_module_type(child)))

    def models(self) -> list[ModelInfo]:
        """Every model, top_level still False: judging needs the entry points (see `mark_top_level`)."""
        result = []
        for info in self.classes.models():
            facts = self.by_module[info.module]
            submodules = self.submodules(info)
            built_inside = self.built_by_class.get(info.qualname, set())  # in loops, or by helper methods
            contains = sorted({
                kind for sub in submodules for kind in (sub.type, *sub.children)
            } | built_inside)
            contains = [kind for kind in contains
                        if kind in self.classes.classes and self.classes.classes[kind].framework and kind != info.qualname]
            forward = self.classes.find_method(info.qualname, "forward")
            path, line = facts.where(info.definition.line)
            init = self.classes.find_method(info.qualname, "__init__")
            result.append(ModelInfo(
                info.qualname, path, line, info.definition.col, info.bases, info.framework or "torch", False, "",
                submodules, tuple(contains), tuple(self.sites.get(info.qualname, ())), self._location(forward),
                self._params(init), self.factories.get(info.qualname, ()),
            ))
        return result

    def datasets(self) -> list[DatasetInfo]:
        result = []
        for info in self.classes.datasets():
            facts = self.by_module[info.module]
            path, line = facts.where(info.definition.line)
            result.append(DatasetInfo(
                info.qualname, path, line, info.definition.col, info.bases,
                self._location(self.classes.find_method(info.qualname, "__getitem__")),
                self._location(self.classes.find_method(info.qualname, "__len__")),
                tuple(self.sites.get(info.qualname, ())),
            ))
        return result

    def _location(self, qualname: str | None) -> Location | None:
        if qualname is None:
            return None
        if qualname not in self.definitions:
            return None
        facts, definition = self.definitions[qualname]
        path, line = facts.where(definition.line)
        return Location(path, line, definition.col)

    def _params(self, init: str | None) -> tuple[str, ...]:
        if init is None:
            return ()
        if init not in self.definitions:
            return ()
        definition = self.definitions[init][1]
        return tuple(
            param.name + (f": {param.annotation}" if param.annotation else "") + (f" = {param.default}" if param.default else "")
            for param in definition.params if param.name != "self"
        )


@dataclass(frozen=True, slots=True)
class Reach:
    """What each entry point reaches in the call graph, in rank order, and whether it trains."""

    by_entry: tuple[tuple[frozenset[str], bool], ...]  # (reached nodes, is a training entry point)

    @property
    def first(self) -> frozenset[str]:
        return self.by_entry[0][0] if self.by_entry else frozenset()


def mark_top_level(models: list[ModelInfo], reach: Reach, trained: tuple[TrainedBy, ...] = (),
                   readme: tuple[str, ...] = ()) -> list[ModelInfo]:
    """Top-level: a model an entry point's optimizer trains, else one an entry point builds that no
    other model contains, else (no entry point builds any) every model no other model contains.

    An entry point whose optimizer is found tells what it trains: the other models it builds (losses,
    post-processors, EMA teachers) are not top-level. `readme`: the models a library's README usage
    code builds, when no documented script comes first; they come first. The reason says which rule
    held, most telling first (see `TOP_LEVEL_REASONS`)."""
    contained = {inner for model in models for inner in model.contains}
    every = frozenset().union(*(nodes for nodes, _ in reach.by_entry))
    trained_where: dict[str, TrainedBy] = {}
    for fact in trained:
        if fact.caller in every:
            best = trained_where.get(fact.qualname)
            if best is None or (fact.caller in reach.first and best.caller not in reach.first):
                trained_where[fact.qualname] = fact
    training_entries = [nodes for nodes, _ in reach.by_entry if any(t.caller in nodes for t in trained_where.values())]
    reasons = {model.qualname: _top_level_reason(model, model.qualname in contained, trained_where.get(model.qualname),
                                                 reach, training_entries) for model in models}
    if any(reason and not reason.startswith("constructed by an entry point") for reason in reasons.values()):
        reasons = {name: "" if reason.startswith("constructed by an entry point") else reason
                   for name, reason in reasons.items()}  # a training entry point's models outrank the rest
    for qualname in readme:  # a library whose first entry point is no documented script: its README decides
        reasons[qualname] = "built by the README's usage code"
    result = [replace(model, top_level=True, top_level_reason=reasons[model.qualname]) if reasons.get(model.qualname)
              else model for model in models]
    if not any(model.top_level for model in result):
        result = [model if model.qualname in contained else
                  replace(model, top_level=True, top_level_reason=_library_reason(model)) for model in result]
    return result


def _library_reason(model: ModelInfo) -> str:
    if not model.factories:
        return "contained by no other model"
    count = len(model.factories)
    names = [name.rsplit(".", 1)[-1] for name in model.factories[:2]]
    return (f"contained by no other model; {count} factory function{'s build' if count > 1 else ' builds'} it "
            f"({', '.join(names)}{', ...' if count > 2 else ''})")


def _top_level_reason(model: ModelInfo, contained: bool, trained: TrainedBy | None, reach: Reach,
                      training_entries: list[frozenset[str]]) -> str:
    if trained is not None:
        who = "the first-ranked entry point" if trained.caller in reach.first else "a training entry point"
        return f"trained by {who} (its parameters go to {trained.optimizer.rsplit('.', 1)[-1]} at {place_text(trained.path, trained.line)})"
    if contained:
        return ""
    callers = {site.caller for site in model.constructed_at}
    builders = [(nodes, trains) for nodes, trains in reach.by_entry if callers & nodes]
    if not builders or all(nodes in training_entries for nodes, _ in builders):
        return ""  # built only where an optimizer shows what is trained, and this is not it
    if callers & reach.first and reach.by_entry[0][1]:
        return "constructed by the first-ranked entry point"
    if any(trains for _, trains in builders):
        return "constructed by a training entry point"
    return "constructed by an entry point"
