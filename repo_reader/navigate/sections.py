"""The reading tour's sections: for each kind of stop, the candidates this repository has.

Pure: reads the map, the call graph and the scan's facts and texts, never the disk. Each collector
returns candidate stops (numbered later by `tour`); a repository that lacks a section gets none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from repo_reader.model import (CallEdge, EntryPoint, EntrySource, Location, ModelInfo, RepoMap, StopDetail, StopKind,
                               TourStop)
from repo_reader.scan.facts import ModuleFacts

DATASET_METHODS = ("__init__", "__len__", "__getitem__", "__iter__")
LOSS_FUNCTIONS = re.compile(r"^torch\.nn\.(\w+Loss|functional\.\w*(loss|entropy|nll\w*))$")
OPTIMISER_CLASS = re.compile(r"^torch\.optim\.(lr_scheduler\.)?[A-Z]\w*$")
LOOP_CALLS = ("backward", "step", "zero_grad")
EVALUATION_CALLS = ("torch.nn.Module.eval", "torch.no_grad", "torch.inference_mode")
MODEL_NAME = re.compile(r"model|^net$|^generator$")
NO_GRAD_DECORATOR = re.compile(r"(^|\.)(no_grad|inference_mode|smart_inference_mode)\b")
LAUNCHED_BY_MODULE = (EntrySource.MAIN_GUARD, EntrySource.DUNDER_MAIN, EntrySource.LIGHTNING_CLI)
MAX_SITES = 6


@dataclass(frozen=True, slots=True)
class TourInputs:
    repo_map: RepoMap
    graph: nx.DiGraph
    modules: tuple[ModuleFacts, ...]
    texts: dict[str, str]  # READMEs and other text assets, by root-relative path
    reach: frozenset[str]  # what the main entry point reaches


class Sections:
    """Collects the candidate stops of each section; `definitions` finds a stop's code by name."""

    def __init__(self, inputs: TourInputs) -> None:
        self.inputs = inputs
        self.map = inputs.repo_map
        self.definitions = {d.qualname: d for d in self.map.definitions}
        self.main: EntryPoint | None = self.map.entry_points[0] if self.map.entry_points else None
        self.claimed: set[tuple[str, int]] = set()  # places earlier stops took; a later stop moves to its site

    # -- building blocks ---------------------------------------------------------------------------
    def stop(self, kind: StopKind, title: str, qualname: str, details: Iterable[StopDetail] = (),
             at: CallEdge | None = None, prefer_site: bool = False, site_summary: str = "") -> TourStop | None:
        """A stop at a definition, or at the call site `at` inside it when the definition is a module
        or an earlier stop already took the definition's line."""
        definition = self.definitions.get(qualname)
        if definition is None:
            return None
        summary = (definition.docstring or "").strip().split("\n")[0] or self.inferred_summary(qualname)
        taken = (definition.path, definition.line) in self.claimed
        if at is not None and (definition.kind == "module" or taken or prefer_site):
            self.claimed.add((at.path, at.line))
            where = f"in {'module ' if definition.kind == 'module' else ''}{qualname}"
            details = tuple(details)
            end = max([d.at.line for d in details if d.at and d.at.path == at.path] + [at.line])
            return TourStop(0, kind, title, qualname, at.path, at.line, at.col, where, site_summary or summary,
                            end, details)
        self.claimed.add((definition.path, definition.line))
        return TourStop(0, kind, title, qualname, definition.path, definition.line, definition.col,
                        definition.signature, summary, definition.end_line, tuple(details), self.next_of(qualname))

    def inferred_summary(self, qualname: str) -> str:
        names = [edge.callee.rsplit(".", 1)[-1] for edge in self.sites_from(qualname) if edge.resolved]
        names = list(dict.fromkeys(n for n in names if n not in ("super", "__init__")))
        if not names:
            return ""
        return "calls " + ", ".join(names[:5]) + (", …" if len(names) > 5 else "")

    def sites_from(self, qualname: str) -> list[CallEdge]:
        graph = self.inputs.graph
        if qualname not in graph:
            return []
        sites = [site for _, _, data in graph.out_edges(qualname, data=True) for site in data["sites"]]
        return sorted(sites, key=lambda e: (e.line, e.col, e.callee))

    def next_of(self, qualname: str) -> tuple[str, ...]:
        found = [e.callee for e in self.sites_from(qualname)
                 if e.callee in self.definitions and self.definitions[e.callee].kind != "module"]
        return tuple(dict.fromkeys(found))

    def site_text(self, edge: CallEdge, label: str) -> StopDetail:
        return StopDetail(label, Location(edge.path, edge.line, edge.col))

    def ranked(self, qualnames: Iterable[str]) -> list[str]:
        """Code the main entry reaches first, then the rest, each in source order."""
        def key(qualname: str) -> tuple[bool, str, int, str]:
            found = self.definitions.get(qualname)
            return qualname not in self.inputs.reach, found.path if found else "", found.line if found else 0, qualname
        return sorted(set(qualnames), key=key)

    def grouped_sites(self, wanted: Iterable[CallEdge]) -> dict[str, list[CallEdge]]:
        groups: dict[str, list[CallEdge]] = {}
        for edge in sorted(wanted, key=lambda e: (e.path, e.line, e.col)):
            groups.setdefault(edge.caller, []).append(edge)
        return {caller: groups[caller] for caller in self.ranked(groups)}

    # -- the sections ------------------------------------------------------------------------------
    def readme(self) -> list[TourStop]:
        paths = sorted(p for p in self.inputs.texts if "/" not in p and p.lower().startswith("readme"))
        if not paths:
            return []
        text = self.inputs.texts[paths[0]]
        title, summary = _readme_title(text), _readme_summary(text)
        details = [StopDetail(f"$ {command}") for command in self.map.readme_commands]
        end = min(len(text.splitlines()), 12)
        return [TourStop(0, StopKind.README, "What the README says", "", paths[0], 1, 1, title, summary, end,
                         tuple(details))]

    def entry(self) -> list[TourStop]:
        if self.main is None:
            return []
        main = self.main
        details = [StopDetail(f"run: {main.command}")]
        if main.config_path:
            details.append(StopDetail("config", Location(main.config_path, 1, 1)))
        definition = self.definitions.get(main.name)
        docstring = (definition.docstring or "").strip().split("\n")[0] if definition else ""
        summary = docstring or f"{main.kind.value} entry point ({main.source.value})"
        end = definition.end_line if definition and definition.kind != "module" else main.line + 1
        signature = f"module {main.name}" if definition is None or definition.kind == "module" else \
            definition.signature if (definition.path, definition.line) == (main.path, main.line) else f"launches {main.name}"
        stops = [TourStop(0, StopKind.ENTRY, f"Entry point ({main.kind.value}): {main.name}", main.name, main.path,
                          main.line, main.col, signature, summary, end, tuple(details), self.next_of(main.name))]
        self.claimed.add((main.path, main.line))
        launched: list[str] = []
        if definition is not None and definition.kind == "module" and main.source in LAUNCHED_BY_MODULE:
            launched = [e.callee for e in self.sites_from(main.name) if e.line >= main.line]
        elif definition is not None and definition.kind == "function":
            launched = [main.name]
        for name in dict.fromkeys(launched):
            found = self.definitions.get(name)
            if found is not None and found.kind == "function" and found.path == main.path \
                    and (found.path, found.line) not in self.claimed:
                stops.append(self.stop(StopKind.ENTRY, f"Entry function: {name}", name))  # type: ignore[arg-type]
        return stops

    def config(self) -> list[TourStop]:
        stops: list[TourStop] = []
        if self.main is not None and self.main.config_path:
            path = self.main.config_path
            text = self.inputs.texts.get(path, "")
            details = [StopDetail(f"{o.name} = {o.default}", o.at) for o in self.main.options]
            stops.append(TourStop(0, StopKind.CONFIG, f"Configuration: {path}", "", path, 1, 1, path,
                                  "the settings the entry point loads", max(1, min(len(text.splitlines()), 12)),
                                  tuple(details[:MAX_SITES * 2])))
        for facts in self.inputs.modules:
            scopes = dict.fromkeys(option.scope for option in facts.options)
            for scope in scopes:
                qualname = f"{facts.module}.{scope}" if scope else facts.module
                if qualname not in self.inputs.reach:
                    continue
                options = [o for o in facts.options if o.scope == scope]
                details = [StopDetail(f"{' '.join(o.flags) or o.dest} = {o.default}" + (f"  {o.help}" if o.help else ""),
                                      self._option_location(facts, o.line)) for o in options]
                first = self._line_edge(facts, options[0].line)
                stops.append(self.stop(StopKind.CONFIG, f"Options: {qualname}", qualname, details, at=first,
                                   site_summary=f"{len(options)} command-line option(s)"))
        for info in self.map.files:
            if info.role == "config" and info.module in self.definitions:
                stops.append(self.stop(StopKind.CONFIG, f"Configuration: {info.module}", info.module))
        return [s for s in stops if s is not None]

    @staticmethod
    def _option_location(facts: ModuleFacts, line: int) -> Location:
        """Where an option is declared: its `add_argument(...)` call (`path:line:col`)."""
        col = next((call.col for call in facts.calls if call.line == line and call.callee.endswith("add_argument")), 1)
        path, shown = facts.where(line)
        return Location(path, shown, col)

    def _line_edge(self, facts: ModuleFacts, line: int) -> CallEdge:
        path, shown = facts.where(line)
        return CallEdge("", "", path, shown, 1, True)

    def data(self) -> list[TourStop]:
        stops: list[TourStop | None] = []
        datasets = sorted(self.map.datasets, key=lambda d: (d.qualname not in self._reached_classes(), d.qualname))
        for dataset in datasets:
            methods = [f"{dataset.qualname}.{name}" for name in DATASET_METHODS]
            methods = [m for m in methods if m in self.definitions] or [dataset.qualname]
            stops += [self.stop(StopKind.DATA, f"Dataset: {m}", m) for m in methods]
        transforms = [e for e in self.map.edges if ".transforms." in e.callee and e.kind != "module-call"]
        for caller, sites in self.grouped_sites(transforms).items():
            details = [self.site_text(e, e.callee) for e in sites[:MAX_SITES]]
            stops.append(self.stop(StopKind.DATA, f"Transforms: {caller}", caller, details, at=sites[0],
                                   site_summary="builds the transforms"))
        loaders = [e for e in self.map.edges if e.callee.endswith(".DataLoader") and e.kind != "module-call"]
        for caller, sites in self.grouped_sites(loaders).items():
            details = [self.site_text(e, self._call_text(e)) for e in sites[:MAX_SITES]]
            stops.append(self.stop(StopKind.DATA, f"DataLoaders: {caller}", caller, details, at=sites[0],
                                   site_summary=f"builds {len(sites)} DataLoader(s)"))
        return [s for s in stops if s is not None]

    def _reached_classes(self) -> set[str]:
        return {name.rsplit(".", 1)[0] for name in self.inputs.reach}

    def _call_text(self, edge: CallEdge) -> str:
        """`DataLoader(train_set, batch_size=...)` from the scan's facts for that call site."""
        for facts in self.inputs.modules:
            for call in facts.calls:
                if call.col == edge.col and facts.where(call.line) == (edge.path, edge.line) and call.args:
                    return f"{call.callee.rsplit('.', 1)[-1]}({', '.join(call.args)})"
        return edge.callee.rsplit(".", 1)[-1]

    def model(self) -> list[TourStop]:
        models = [m for m in self.map.models if m.top_level]
        models.sort(key=lambda m: (f"{m.qualname}.forward" not in self.inputs.reach, m.path, m.line))
        if not models:
            return []
        order = _model_reading_order(models[0], {m.qualname: m for m in self.map.models}, self)
        stops: list[TourStop | None] = []
        for index, qualname in enumerate(order + [m.qualname for m in models[1:]]):
            info = next(m for m in self.map.models if m.qualname == qualname)
            label = "Model" if index == 0 or info.top_level else "Submodule"
            names = [f"{qualname}.__init__", f"{qualname}.forward"] if label == "Model" else [f"{qualname}.forward"]
            names = [n for n in names if n in self.definitions] or [qualname]
            stops += [self.stop(StopKind.MODEL, f"{label}: {n}", n) for n in names]
        return [s for s in stops if s is not None]

    def optimisation(self) -> list[TourStop]:
        without_gradients = self._without_gradients()  # a loss computed there is a metric (`generate`, `evaluate`)
        wanted = [e for e in self.map.edges if e.kind != "module-call" and e.resolved
                  and (OPTIMISER_CLASS.match(e.callee) or (LOSS_FUNCTIONS.match(e.callee)
                                                           and e.caller not in without_gradients))]
        groups = self.grouped_sites(wanted)
        stops = [self.stop(StopKind.OPTIMISATION, f"Loss and optimizer: {caller}", caller,
                           [self.site_text(e, _optimisation_label(e.callee)) for e in sites[:MAX_SITES]], at=sites[0],
                           prefer_site=True, site_summary="builds " + ", ".join(_short_names(sites)))
                 for caller, sites in groups.items()]
        hooks = [d.qualname for d in self.map.definitions
                 if d.qualname.endswith(".configure_optimizers") and d.qualname not in groups]
        stops += [self.stop(StopKind.OPTIMISATION, f"Optimizer: {name}", name) for name in self.ranked(hooks)]
        return [s for s in stops if s is not None]

    def training(self) -> list[TourStop]:
        wanted = [e for e in self.map.edges if e.callee.rsplit(".", 1)[-1] in LOOP_CALLS
                  and "lr_scheduler" not in e.callee]
        groups = {caller: sites for caller, sites in self.grouped_sites(wanted).items()
                  if any(e.callee.endswith("backward") for e in sites)}
        stops = [self.stop(StopKind.TRAINING, f"Training loop: {caller}", caller,
                           [self.site_text(e, e.callee.rsplit(".", 1)[-1] + "()") for e in sites], at=sites[0],
                           site_summary="calls " + ", ".join(n + "()" for n in _short_names(sites)))
                 for caller, sites in groups.items()]
        steps = [d.qualname for d in self.map.definitions if d.qualname.endswith(".training_step")]
        stops += [self.stop(StopKind.TRAINING, f"Training step: {name}", name) for name in self.ranked(steps)]
        return [s for s in stops if s is not None]

    def evaluation(self) -> list[TourStop]:
        # `model.eval()` or `no_grad` where a model runs; a builder returning `model.eval()` or a
        # parameter copy under `no_grad` runs none
        models = tuple(f"{m.qualname}." for m in self.map.models)
        runs_a_model = {e.caller for e in self.map.edges if e.kind == "module-call" or (
            e.kind == "call" and e.callee.startswith(models) and not e.callee.endswith(".__init__"))
            or (not e.resolved and MODEL_NAME.search(e.callee.split(".")[0]))}  # `jit_model(...)`, `model.encode_text`
        callers = [e.caller for e in self.map.edges if e.callee in EVALUATION_CALLS and e.caller in runs_a_model]
        # `@torch.inference_mode() def generate(...)` of a wrapper that runs a model (llama's `Llama`);
        # a model's own `generate` belongs to the model's stops
        callers += [name for name in self._without_gradients() if name in runs_a_model
                    and not name.startswith(models) and name not in callers]
        callers += [d.qualname for d in self.map.definitions
                    if d.qualname.endswith((".validation_step", ".test_step", ".evaluate", ".validate"))]
        callers = [c for c in callers if c in self.definitions and self.definitions[c].kind in ("function", "method")]
        stops = [self.stop(StopKind.EVALUATION, f"Evaluation: {name}", name) for name in self.ranked(callers)]
        return [s for s in stops if s is not None]

    def _without_gradients(self) -> list[str]:
        """Functions that switch gradients or training mode off: they call `.eval()`/`no_grad`, or are
        decorated with `@torch.no_grad()`/`@torch.inference_mode()` (a model's `generate`)."""
        found = [e.caller for e in self.map.edges if e.callee in EVALUATION_CALLS]
        for facts in self.inputs.modules:
            found += [f"{facts.module}.{d.qualname}" for d in facts.definitions
                      if any(NO_GRAD_DECORATOR.search(decorator) for decorator in d.decorators)]
        return list(dict.fromkeys(found))

    def helpers(self) -> list[TourStop]:
        names = [q for q in self.inputs.reach if q in self.definitions
                 and self.definitions[q].kind in ("function", "method")]
        stops = [self.stop(StopKind.HELPER, f"Helper: {name}", name) for name in sorted(names)]
        return [s for s in stops if s is not None]


def _model_reading_order(top: ModelInfo, models: dict[str, ModelInfo], sections: Sections) -> list[str]:
    """The top model, then its own submodules in the order forward calls them, then the rest it holds."""
    order = [top.qualname]
    queue = [top.qualname]
    while queue:
        current = models[queue.pop(0)]
        called = [e.callee.rsplit(".", 1)[0] for e in sections.sites_from(f"{current.qualname}.forward")]
        for name in [c for c in called if c in models] + list(current.contains):
            if name in models and name not in order:
                order.append(name)
                queue.append(name)
    return order


def _short_names(sites: list[CallEdge]) -> list[str]:
    return list(dict.fromkeys(edge.callee.rsplit(".", 1)[-1] for edge in sites))


def _optimisation_label(callee: str) -> str:
    role = "scheduler" if ".lr_scheduler." in callee else "optimizer" if callee.startswith("torch.optim.") else "loss"
    return f"{role}: {callee}"


def _readme_title(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return "README"


def _readme_summary(text: str) -> str:
    """The first sentence of the first paragraph that is not a heading, badge or code."""
    paragraph: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            if paragraph:
                break
            continue
        if stripped.startswith(("#", "[!", "![", "```", "<", "|", "-", "*")):
            if paragraph:
                break
            continue
        paragraph.append(stripped)
    sentence = re.split(r"(?<=[.!?])\s", " ".join(paragraph), maxsplit=1)[0]
    return sentence[:200]
