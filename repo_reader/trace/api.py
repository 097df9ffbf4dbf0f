"""`trace_repository`: static map → requests → one child process per model → ShapeTrace.

Parent side, standard library only (torch is imported only in the child). Never prints.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from repo_reader.model import ModelTrace, RepoMap, ShapeTrace, TraceDevice, TraceStatus
from repo_reader.sandbox.isolation import probe_isolation
from repo_reader.trace.builders import named_builders
from repo_reader.trace.hints import find_size_hints
from repo_reader.trace.request import InputSpec
from repo_reader.trace.launch import notebook_request, readme_code, readme_request, run_request, training_entry
from repo_reader.trace.runner import notebook_report, run_all, run_one
from repo_reader.trace.steps import StepCallback, StepReporter
from repo_reader.trace.targets import (DEFAULT_MAX_MODELS, RequestSettings, TargetError, build_request,
                                      default_models, select_models)

DEFAULT_TIMEOUT = 120.0
RUN_ROUTE_TIMEOUT = 90.0  # running a script to its model; past it the static route still has its own time
_INPUT = re.compile(r"^(?:(?P<name>[A-Za-z_]\w*)=)?(?P<shape>\d+(?:x\d+)*)(?::(?P<dtype>[\w.]+))?$")


@dataclass(frozen=True, slots=True)
class TraceOptions:
    models: tuple[str, ...] = ()  # qualnames or class names; empty: the map's top-level models
    inputs: tuple[str, ...] = ()  # `x=2x3x224x224:float32`
    init: tuple[str, ...] = ()  # `depth=18`
    device: TraceDevice = TraceDevice.AUTO
    backward: bool = False
    timeout: float = DEFAULT_TIMEOUT
    memory_limit: int | None = None  # bytes of address space per child; None: 80% of RAM
    jobs: int = 0  # children at a time; 0: one per CPU
    use_cache: bool = True
    max_models: int = DEFAULT_MAX_MODELS  # without --model: trace this many top-level models; 0: all
    route: str = "auto"  # auto: run the training script to its model first, else build statically | run | static
    entry_argv: tuple[str, ...] | None = None  # arguments for the training script (after `--`); None: the README's
    record_lines: bool = False  # also record shapes by source line (`show`)


def trace_repository(root: Path, options: TraceOptions, repo_map: RepoMap | None = None,
                     on_step: StepCallback | None = None) -> ShapeTrace:
    """Trace the selected models of the repository at `root`, telling `on_step` what it is doing.
    Raises TargetError for bad options."""
    root = root.resolve()
    repo_map = repo_map or load_map(root, use_cache=options.use_cache)
    settings = RequestSettings(
        device=str(options.device), inputs=parse_inputs(options.inputs),
        hints=find_size_hints(root, repo_map), backward=options.backward,
        memory_limit=_memory_limit(options),
    )
    builders: dict[str, str] = {}
    if options.models:
        models, not_traced = select_models(repo_map, options.models), ()
        builders = named_builders(repo_map, options.models)
    else:  # the default choice, once: the first --max-models are traced, the rest named
        ranked = default_models(repo_map)
        cut = options.max_models or len(ranked)
        models, not_traced = ranked[:cut], tuple(m.qualname for m in ranked[cut:])
    ran = _run_route(repo_map, root, options, settings, on_step) if not options.models else None
    if ran is not None and ran.status is TraceStatus.OK:  # the repository built its model itself
        models = [model for model in models if model.qualname != ran.qualname][: max(len(models) - 1, 0)]
    requests = [replace(build_request(model, repo_map, root, options.init, settings, builders.get(model.qualname, "")),
                        record_lines=options.record_lines) for model in models]
    # a model defined in a notebook: its code cells run as a script, else it is reported as such
    requests = [(notebook_request(request, root) or request) if ".ipynb" in request.path else request
                for request in requests]
    runnable = [request for request in requests if ".ipynb" not in request.path or request.code_blocks]
    done = iter(run_all(runnable, options.timeout, options.jobs, on_step) if runnable else [])
    traces = [next(done) if request in runnable else notebook_report(request) for request in requests]
    if ran is not None and (ran.status is TraceStatus.OK or options.route == "run" or not traces):
        traces.insert(0, ran)
    elif ran is not None and ran.failure is not None:
        traces[0] = _noted(traces[0], f"the run route failed ({ran.failure.message}); built from the static map instead")
    isolation = probe_isolation().describe() if runnable or ran is not None else ""
    return ShapeTrace(root=repo_map.root, models=tuple(traces), not_traced=not_traced, isolation=isolation)


def _run_route(repo_map: RepoMap, root: Path, options: TraceOptions, settings: RequestSettings,
               on_step: StepCallback | None) -> ModelTrace | None:
    """Run the first-ranked training script to its optimizer, when there is one and the route allows."""
    if options.route == "static" or options.inputs or options.init:
        return None
    entry = training_entry(repo_map)
    packages = {f.module.split(".")[0] for f in repo_map.files if f.module and not f.notebook}
    readme, blocks = readme_code(root, packages) if options.entry_argv is None else ("", ())
    documented = entry is not None and any(e.reason.startswith("launched") for e in entry.evidence)
    if blocks and (entry is None or not documented):  # a library: used the way its README shows
        request = readme_request(root, readme, blocks, device=str(options.device), memory_limit=settings.memory_limit,
                                 hints=settings.hints)
    elif entry is not None:
        request = run_request(entry, root, options.entry_argv, device=str(options.device),
                              memory_limit=settings.memory_limit, hints=settings.hints)
    else:
        return None
    return run_one(replace(request, record_lines=options.record_lines), min(options.timeout, RUN_ROUTE_TIMEOUT),
                   reporter=StepReporter(on_step))


def _noted(trace: ModelTrace, note: str) -> ModelTrace:
    if trace.construction is None:
        return trace
    return replace(trace, construction=replace(trace.construction, notes=(*trace.construction.notes, note)))


def load_map(root: Path, *, use_cache: bool = True) -> RepoMap:
    """The static map (`repo_reader.api`), imported here so that the trace package stays importable alone."""
    from repo_reader.api import build_map

    return build_map(root, use_cache=use_cache)


def parse_inputs(texts: tuple[str, ...]) -> tuple[InputSpec, ...]:
    specs = []
    for text in texts:
        match = _INPUT.match(text.strip())
        if match is None:
            raise TargetError(f"--input expects [name=]2x3x224x224[:dtype], got {text!r}")
        shape = tuple(int(size) for size in match["shape"].split("x"))
        specs.append(InputSpec(match["name"], shape, match["dtype"] or "float32"))
    return tuple(specs)


def _memory_limit(options: TraceOptions) -> int:
    if options.memory_limit is not None:
        return options.memory_limit
    if options.device == TraceDevice.CUDA:
        return 0  # CUDA reserves far more address space than it uses
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0
    return max(int(total * 0.8), 4 * 2**30)
