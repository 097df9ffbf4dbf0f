"""The map as Markdown, for a README or an issue: the same sections as the terminal printout."""

from __future__ import annotations

from collections import defaultdict

from repo_reader.model import RepoMap
from repo_reader.render.locations import Locator
from repo_reader.render.map_rich import ROLE_ORDER


def render_map_markdown(repo_map: RepoMap, locator: Locator) -> str:
    at = locator.text
    out = [f"# repo-reader map of `{repo_map.root}`", ""]
    out.append(f"{len(repo_map.files)} files, {repo_map.total_lines:,} lines. Frameworks: "
               f"{', '.join(repo_map.frameworks) or 'none detected'}.")
    out += ["", "## Entry points", ""]
    for entry in repo_map.entry_points:
        out.append(f"{entry.rank}. `{at(entry.path, entry.line, entry.col)}` **{entry.kind.value}** "
                   f"({entry.source.value}): `{entry.command}`")
        if entry.options:
            out += ["", "   | option | default | help | declared at |", "   |---|---|---|---|"]
            for option in entry.options:
                where = at(option.at.path, option.at.line, option.at.col) if option.at else ""
                cells = [option.name, option.default if option.default is not None else "", option.help or ""]
                out.append("   | " + " | ".join(f"`{c}`" if i < 2 and c else c.replace("|", "\\|")
                                                 for i, c in enumerate(cells)) + f" | {f'`{where}`' if where else ''} |")
            out.append("")
    out += ["", "## Files by role", ""]
    grouped = defaultdict(list)
    for info in repo_map.files:
        grouped[info.role].append(info)
    for role in ROLE_ORDER:
        if grouped.get(role):
            out.append(f"- **{role.value}**: " + ", ".join(f"`{at(f.path)}`" for f in grouped[role]))
    out += ["", "## Models", ""]
    for model in repo_map.models:
        flag = " (top-level)" if model.top_level else ""
        out.append(f"- `{at(model.path, model.line, model.col)}` **{model.qualname}**{flag}")
        if model.top_level:
            for sub in model.submodules:
                out.append(f"  - `{at(model.path, sub.line, sub.col)}` `{sub.name}`: {sub.container or sub.type}")
            if model.layers_from is not None:
                where = model.layers_from
                out.append(f"  - `{at(where.path, where.line, where.col)}` layers from the YAML file "
                           f"(built by `{model.layers_builder.rsplit('.', 1)[-1]}`)")
                out += [f"    - `{at(where.path, layer.line, layer.col)}` {layer.index}: `{layer.type}` "
                        f"x{layer.repeats} `{layer.args}`" for layer in model.layers]
    if repo_map.datasets:
        out += ["", "## Datasets", ""]
        out += [f"- `{at(d.path, d.line, d.col)}` **{d.qualname}**" for d in repo_map.datasets]
    if repo_map.chains:
        out += ["", "## Call chains", ""]
        out += [f"- `{' → '.join(chain.calls)}`" for chain in repo_map.chains]
    if repo_map.warnings:
        out += ["", "## Warnings", ""]
        out += [f"- `{at(w.path, w.line)}`: {w.message}" for w in repo_map.warnings]
    return "\n".join(out) + "\n"
