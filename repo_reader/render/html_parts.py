"""The fixed parts of the HTML report: the page skeleton around its sections, the style sheet and the script
(html_report.css, html_report.js, read from the package), and the trace's summary above a traced model."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from html import escape
from importlib.resources import files

from repo_reader.model import Location, ModelTrace, TraceStatus
from repo_reader.render.trace_text import count_text, flops_text

TABS = (("tour", "Tour"), ("map", "Map"), ("models", "Model"), ("chain", "Call chain"), ("symbols", "Symbols"))

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repo-reader: {title}</title>
<style>{style}</style></head>
<body>
<header><div class="head-line"><b>repo-reader</b> report of <b>{title}</b> <span class="dim">{summary}</span></div>
<div class="head-line"><input id="search" type="search" placeholder="Search symbols, files, models" autocomplete="off"
spellcheck="false"><nav class="tabs">{tabs}</nav></div></header>
<main><div id="left">
<section id="results" class="tab" hidden><h2>Search</h2><div id="result-count" class="dim"></div>
<div class="vlist" id="result-list"></div></section>
<section id="tour" class="tab">{tour}</section>
<section id="map" class="tab" hidden>{map}</section>
<section id="models" class="tab" hidden><h2>Models</h2><div class="vlist short" id="model-list"></div>
<div id="model-view">{models}</div></section>
<section id="chain" class="tab" hidden>{chain}</section>
<section id="symbols" class="tab" hidden><h2>Symbols</h2><div id="symbol-card" class="dim">pick a symbol: its
calls and callers show here</div><div class="vlist" id="symbol-list"></div></section>
</div><div id="source"><div id="current" class="dim">click a location to open the source at that line</div>
<div id="code"></div></div></main>
{blobs}
<script>{script}</script>
</body></html>
"""


@cache
def _asset(name: str) -> str:
    return files("repo_reader.render").joinpath(name).read_text(encoding="utf-8")


def page(title: str, summary: str, sections: dict[str, str], blobs: str) -> str:
    tabs = "".join(f'<a href="#tab-{key}" data-tab="{key}">{label}</a>' for key, label in TABS)
    # A `</script>` inside the script would end it early; the script is ours and has none.
    return PAGE.format(title=escape(title), summary=escape(summary), tabs=tabs, style=_asset("html_report.css"),
                       script=_asset("html_report.js"), blobs=blobs, **sections)


def trace_summary(trace: ModelTrace, link: Callable[[Location | None], str]) -> str:
    """Status, device, input, totals and flags of a traced model, each flag at its location."""
    if trace.status != TraceStatus.OK:
        reason = trace.failure.message if trace.failure else trace.status.value
        return f'<div class="trace-summary failed">trace: {escape(trace.status.value)}: {escape(reason)}</div>'
    used = next((a for a in trace.input_attempts if a.error is None), None)
    facts = [f"traced on {escape(trace.device)}",
             f"input {escape(used.description)}" if used else "",
             f"{count_text(trace.total_params)} parameters ({count_text(trace.trainable_params)} trainable)",
             f"{flops_text(trace.flops)}FLOPs" if trace.flops else ""]
    flags = "".join(f'<li>{link(flag.location)} <span class="flag">{escape(flag.kind.value)}</span> '
                    f"<code>{escape(flag.module)}</code> {escape(flag.message)}</li>" for flag in trace.flags)
    return (f'<div class="trace-summary">{" · ".join(filter(None, facts))}</div>'
            + (f'<div class="flags"><b>flags ({len(trace.flags)})</b><ul>{flags}</ul></div>' if flags else ""))
