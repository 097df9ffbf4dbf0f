"""Models and datasets: every nn.Module subclass with the layers its `__init__` builds, how the repo's
own models compose, where each is constructed, and which are the top-level networks.
"""

from __future__ import annotations

from repo_reader.index.classes import ClassIndex, ClassInfo, external_module_framework
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex
from repo_reader.model import ConstructionSite, DatasetInfo, Location, ModelInfo, Submodule
from repo_reader.index.registries import BUILD_METHODS, registry_of_call
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
                if not call.callee or not call.callee.split(".")[-1][:1].isupper():
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
            child for child in (self.types.type_of_callee(facts.module, assign.scope, c) for c in assign.children) if child
        )
        if assign.kind in ("list", "dict", "tuple"):
            modules = tuple(child for child in children if self.is_module_type(child))
            if not modules:
                return None
            return Submodule(name, assign.kind, line, assign.col, assign.kind, assign.in_loop, modules)
        if assign.kind not in ("call", "setattr", "append"):
            return None
        built = self.types.type_of_callee(facts.module, assign.scope, assign.value)
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
                self._params(init),
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


def mark_top_level(models: list[ModelInfo], entry_reach: set[str], train_reach: set[str]) -> list[ModelInfo]:
    """Top-level: contained by no other model, and built by a training entry point when any is."""
    from dataclasses import replace

    contained = {inner for model in models for inner in model.contains}
    uncontained = [model for model in models if model.qualname not in contained]
    built_by_training = {m.qualname for m in uncontained if any(site.caller in train_reach for site in m.constructed_at)}
    built_by_entry = {m.qualname for m in uncontained if any(site.caller in entry_reach for site in m.constructed_at)}
    chosen = built_by_training or built_by_entry
    result = []
    for model in models:
        if model.qualname in contained:
            result.append(model)
        elif chosen:
            if model.qualname in built_by_training:
                result.append(replace(model, top_level=True, top_level_reason="constructed by a training entry point"))
            elif model.qualname in chosen:
                result.append(replace(model, top_level=True, top_level_reason="constructed by an entry point"))
            else:
                result.append(model)
        else:
            result.append(replace(model, top_level=True, top_level_reason="contained by no other model"))
    return result
