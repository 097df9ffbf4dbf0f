"""The map as a terminal printout: overview, files by role, entry points, model tree, call chains.

Every location is `path:line:col` at the start of its line, never wrapped, so terminals and IDEs
make it clickable.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape

from repo_reader.model import ModelInfo, RepoMap, Role
from repo_reader.render.locations import Locator

ROLE_ORDER = [Role.TRAIN, Role.EVAL, Role.MODEL, Role.DATALOADER, Role.CONFIG, Role.UTILS, Role.TEST, Role.OTHER]
MAX_FILES_PER_ROLE = 12
MAX_ENTRIES = 10
MAX_OPTIONS = 40
MAX_TREE_DEPTH = 4
MAX_OTHER_MODELS = 25
MAX_TOP_TREES = 5  # top-level models shown with their layer tree; the rest are listed by name
MAX_TOP_LISTED = 20
MAX_LAYERS = 80  # rows of a YAML layer list shown under its model
MAX_CHAIN_STEPS = 40  # a longer chain shows its first and last calls
CHAIN_TAIL = 10
MAX_CHAIN_INDENT = 12  # deeper steps stay at this indent: a 30,000-deep chain would print 900 M spaces
def render_map_rich(repo_map: RepoMap, console: Console, locator: Locator) -> None:
    printer = _Printer(console, locator)
    printer.overview(repo_map)
    printer.files(repo_map)
    printer.entries(repo_map)
    printer.models(repo_map)
    printer.datasets(repo_map)
    printer.chains(repo_map)
    printer.warnings(repo_map)


class _Printer:
    def __init__(self, console: Console, locator: Locator) -> None:
        self.console = console
        self.at = locator.markup

    def line(self, markup: str = "") -> None:
        self.console.print(markup, soft_wrap=True, highlight=False)

    def heading(self, title: str) -> None:
        self.line()
        self.line(f"[bold underline]{title}[/]")

    def overview(self, repo_map: RepoMap) -> None:
        unresolved = sum(1 for edge in repo_map.edges if not edge.resolved)
        self.line(f"[bold]repo-reader map[/] of [bold magenta]{escape(repo_map.root)}[/]")
        self.line(f"  {len(repo_map.files)} files, {repo_map.total_lines:,} lines; "
                  f"frameworks: {escape(', '.join(repo_map.frameworks) or 'none detected')}")
        self.line(f"  {len(repo_map.entry_points)} entry points, {len(repo_map.models)} models "
                  f"({sum(m.top_level for m in repo_map.models)} top-level), {len(repo_map.datasets)} datasets; "
                  f"call graph: {len(repo_map.edges):,} calls, {unresolved:,} unresolved")
        if repo_map.warnings:
            self.line(f"  [yellow]{len(repo_map.warnings)} file(s) could not be fully read (see Warnings)[/]")

    def files(self, repo_map: RepoMap) -> None:
        self.heading("Files by role")
        grouped = defaultdict(list)
        for info in repo_map.files:
            grouped[info.role].append(info)
        for role in ROLE_ORDER:
            files = grouped.get(role, [])
            if not files:
                continue
            self.line(f"[bold]{role.value}[/] ({len(files)})")
            for info in sorted(files, key=lambda f: (-f.confidence, f.path))[:MAX_FILES_PER_ROLE]:
                reason = info.evidence[-1].reason if info.evidence else ""
                self.line(f"  {self.at(info.path)}  [dim]{info.confidence}%  {escape(reason)}[/]")
            if len(files) > MAX_FILES_PER_ROLE:
                self.line(f"  [dim]... and {len(files) - MAX_FILES_PER_ROLE} more[/]")

    def entries(self, repo_map: RepoMap) -> None:
        self.heading("Entry points (read the first one first)")
        if not repo_map.entry_points:
            self.line("  [dim]none found: no __main__ guard, console script, or launch command[/]")
        for entry in repo_map.entry_points[:MAX_ENTRIES]:
            self.line(f"{entry.rank}. {self.at(entry.path, entry.line, entry.col)}  [bold]{entry.kind.value}[/]  "
                      f"[dim]({entry.source.value})[/]")
            self.line(f"   run: [green]{escape(entry.command)}[/]")
            if entry.config_path:
                self.line(f"   config: {self.at(entry.config_path)}")
            shown = entry.options if entry.rank == 1 else entry.options[:6]
            for option in shown[:MAX_OPTIONS]:
                default = f" = {escape(option.default)}" if option.default is not None else (
                    " [red](required)[/]" if option.required else "")
                help_text = f"  [dim]{escape(option.help)}[/]" if option.help else ""
                where = f"{self.at(option.at.path, option.at.line, option.at.col)}  " if option.at else "   "
                value = " True|False" if option.type == "bool" else ""  # `--use_fp16 False`: a flag taking a value
                self.line(f"{where}{escape(option.name)}{value}{default}{help_text}")
            hidden = len(entry.options) - min(len(shown), MAX_OPTIONS)
            if hidden > 0:
                self.line(f"   [dim]... {hidden} more options[/]")
        if len(repo_map.entry_points) > MAX_ENTRIES:
            self.line(f"[dim]... and {len(repo_map.entry_points) - MAX_ENTRIES} more entry points (--format json lists all)[/]")

    def models(self, repo_map: RepoMap) -> None:
        self.heading("Models")
        by_name = {model.qualname: model for model in repo_map.models}
        top = repo_map.ranked_top_level()
        for model in top[:MAX_TOP_TREES]:
            self.line(f"{self.at(model.path, model.line, model.col)}  [bold]{escape(model.qualname)}[/] "
                      f"[green]top-level[/] [dim]({escape(model.top_level_reason)})[/]")
            for site in model.constructed_at[:3]:
                self.line(f"   built at {self.at(site.path, site.line, site.col)}  "
                          f"[dim]{escape(_call_text(model, site.args))}[/]")
            self._tree(model, by_name, 1, {model.qualname})
        if len(top) > MAX_TOP_TREES:
            self.line(f"[dim]more top-level models ({len(top) - MAX_TOP_TREES}):[/]")
            for model in top[MAX_TOP_TREES:MAX_TOP_TREES + MAX_TOP_LISTED]:
                self.line(f"  {self.at(model.path, model.line, model.col)}  {escape(model.qualname)}")
            if len(top) > MAX_TOP_TREES + MAX_TOP_LISTED:
                self.line(f"  [dim]... and {len(top) - MAX_TOP_TREES - MAX_TOP_LISTED} more (--format json lists all)[/]")
        others = [model for model in repo_map.models if not model.top_level]
        if others:
            self.line(f"[dim]other models ({len(others)}):[/]")
            for model in others[:MAX_OTHER_MODELS]:
                self.line(f"  {self.at(model.path, model.line, model.col)}  {escape(model.qualname)}")
            if len(others) > MAX_OTHER_MODELS:
                self.line(f"  [dim]... and {len(others) - MAX_OTHER_MODELS} more[/]")

    def _tree(self, model: ModelInfo, by_name: dict[str, ModelInfo], depth: int, seen: set[str]) -> None:
        indent = "   " * depth
        for sub in model.submodules:
            container = f"{sub.container}" if sub.container else ""
            kind = _short(sub.type) if not container or container == sub.type.rsplit(".", 1)[-1] else container
            children = f" [{escape(', '.join(dict.fromkeys(_short(c) for c in sub.children)))}]" if sub.children else ""
            loop = " [dim](built in a loop)[/]" if sub.in_loop else ""
            plain = " [red](plain Python container: not registered!)[/]" if sub.container in ("list", "dict", "tuple") else ""
            self.line(f"{indent}{self.at(model.path, sub.line, sub.col)}  {escape(sub.name)}: "
                      f"{escape(kind)}{escape(children)}{loop}{plain}")
            inner = by_name.get(sub.type)
            if inner is not None and depth < MAX_TREE_DEPTH and inner.qualname not in seen:
                self._tree(inner, by_name, depth + 1, seen | {inner.qualname})
        shown = {sub.type for sub in model.submodules} | {c for sub in model.submodules for c in sub.children}
        shown |= {layer.type for layer in model.layers}  # listed with the YAML's rows below
        for qualname in model.contains:
            inner = by_name.get(qualname)
            if qualname in shown or inner is None:
                continue
            self.line(f"{indent}{self.at(inner.path, inner.line, inner.col)}  [dim](built inside, e.g. in a loop)[/] "
                      f"{escape(_short(qualname))}")
            if depth < MAX_TREE_DEPTH and qualname not in seen:
                self._tree(inner, by_name, depth + 1, seen | {qualname})
        if model.layers and model.layers_from is not None:
            self._layers(model, indent)

    def _layers(self, model: ModelInfo, indent: str) -> None:
        """The rows of the YAML layer list the model's builder reads, each where it is written."""
        where = model.layers_from
        assert where is not None
        builder = model.layers_builder.rsplit(".", 1)[-1]
        self.line(f"{indent}{self.at(where.path, where.line, where.col)}  layers from {escape(where.path)} "
                  f"[dim](built by {escape(builder)})[/]")
        for layer in model.layers[:MAX_LAYERS]:
            defined = f"  [dim]{self.at(layer.defined_at.path, layer.defined_at.line, layer.defined_at.col)}[/]" \
                if layer.defined_at else ""
            self.line(f"{indent}   {self.at(where.path, layer.line, layer.col)}  {layer.index}: "
                      f"{escape(_short(layer.type))} x{escape(layer.repeats)} {escape(layer.args)} "
                      f"[dim]from {escape(layer.source)}[/]{defined}")
        if len(model.layers) > MAX_LAYERS:
            self.line(f"{indent}   [dim]... and {len(model.layers) - MAX_LAYERS} more layers (--format json lists all)[/]")

    def datasets(self, repo_map: RepoMap) -> None:
        if not repo_map.datasets:
            return
        self.heading("Datasets")
        for dataset in repo_map.datasets:
            getitem = f"  __getitem__ at {self.at(dataset.getitem.path, dataset.getitem.line, dataset.getitem.col)}" \
                if dataset.getitem else ""
            self.line(f"{self.at(dataset.path, dataset.line, dataset.col)}  [bold]{escape(dataset.qualname)}[/]{getitem}")

    def chains(self, repo_map: RepoMap) -> None:
        if not repo_map.chains:
            return
        self.heading("Call chains from the main entry point")
        definitions = {d.qualname: d for d in repo_map.definitions}
        main = repo_map.entry_points[0].name if repo_map.entry_points else None
        chains = [chain for chain in repo_map.chains if chain.entry == main] or list(repo_map.chains[:2])
        for chain in chains:
            self.line(f"[bold]{escape(chain.entry)}[/] → [bold]{escape(chain.target)}[/]")
            calls = list(enumerate(chain.calls))
            if len(calls) > MAX_CHAIN_STEPS:  # the start and the end say how data meets the model
                calls = calls[: MAX_CHAIN_STEPS - CHAIN_TAIL] + [(-1, "")] + calls[-CHAIN_TAIL:]
            for step, name in calls:
                if step < 0:
                    self.line(f"  [dim]... {len(chain.calls) - MAX_CHAIN_STEPS} more calls ...[/]")
                    continue
                found = definitions.get(name)
                where = self.at(found.path, found.line, found.col) if found else "[dim](unknown location)[/]"
                self.line(f"  {where}  {'  ' * min(step, MAX_CHAIN_INDENT)}{escape(name)}")

    def warnings(self, repo_map: RepoMap) -> None:
        if not repo_map.warnings:
            return
        self.heading("Warnings")
        for warning in repo_map.warnings:
            self.line(f"{self.at(warning.path, warning.line)}  [yellow]{escape(warning.message)}[/]")


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def _call_text(model: ModelInfo, args: tuple[str, ...]) -> str:
    return f"{_short(model.qualname)}({', '.join(args)})"
