"""The reading tour as Markdown (for a README or an issue) and as JSON (for tools)."""

from __future__ import annotations

import json
from dataclasses import asdict

from repo_reader.model import Tour
from repo_reader.navigate.sources import Sources
from repo_reader.render.locations import Locator
from repo_reader.render.tour_rich import lexer_for, next_text, stop_numbers


def render_tour_markdown(tour: Tour, locator: Locator, sources: Sources | None, excerpt_lines: int = 6) -> str:
    out = [f"# Reading tour of `{tour.root}`", ""]
    if tour.entry:
        out += [f"{len(tour.stops)} stops, from the entry point `{tour.entry}`.", ""]
    numbers = stop_numbers(tour)
    for stop in tour.stops:
        out.append(f"{stop.number}. **{stop.title}**  ")
        out.append(f"   `{locator.text(stop.path, stop.line, stop.col)}` `{stop.signature}`  ")
        if stop.summary:
            out.append(f"   {stop.summary}  ")
        for detail in stop.details:
            where = f"`{locator.text(detail.at.path, detail.at.line, detail.at.col)}` " if detail.at else ""
            out.append(f"   - {where}`{detail.text}`")
        if stop.next:
            out.append(f"   - next: {next_text(stop, numbers)}")
        if sources is not None and excerpt_lines > 0:
            excerpt = sources.excerpt(stop.path, stop.line, stop.end_line, excerpt_lines)
            if excerpt.lines:
                out += ["", f"   ```{lexer_for(stop.path)}"] + [f"   {line}".rstrip() for line in excerpt.lines] + ["   ```"]
        out.append("")
    return "\n".join(out)


def render_tour_json(tour: Tour) -> str:
    return json.dumps(asdict(tour), indent=2, ensure_ascii=False) + "\n"
