"""Trace every fixture on a CUDA GPU and write a Markdown report of per-module time and peak memory.

Meant for one call on a lent GPU machine (see gpu_trace.sh, which runs it). Uses the trace API,
not the CLI, so it needs only what the device image has (torch, typer, rich, networkx, pyyaml).

    python benchmarks/gpu_trace.py OUT_DIR [--fixtures trace_zoo,registry_config] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from repo_reader.model import ModelTrace, ModuleCall, ShapeTrace, TraceDevice, TraceStatus  # noqa: E402
from repo_reader.render.trace_json import render_trace_json  # noqa: E402
from repo_reader.render.trace_text import count_text, flops_text, shape_text  # noqa: E402
from repo_reader.trace.api import TraceOptions, load_map, trace_repository  # noqa: E402
from repo_reader.trace.targets import select_models  # noqa: E402

# the zoo's models one by one (the map's top-level selection would miss most); infinite_init is left
# out: its timeout is tested on CPU
ZOO = ("small_cnn.SmallCNN", "tiny_gpt.TinyGPT", "unused_branch.UnusedBranchNet", "plain_list.PlainListMLP",
       "detached_head.DetachedHeadNet", "shared_module.SharedModuleNet", "dict_io.DictIONet",
       "argparse_model.models.MLP", "needs_missing_pkg.FlashBlock", "failing_forward.FailingForwardNet",
       "data_dependent.DataDependentNet", "smoke_main.SmokeTestedNet", "pretrained.HubBackbone",
       "pretrained.PretrainedClassifier", "pretrained.HubHead", "llama7b.Llama")
MAX_ROWS = 40  # modules per model in the report: the top of the tree, then the slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fixtures", default="", help="comma-separated fixture names; default: all")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--device", default="cuda", help="cuda; cpu or meta for a dry run without a GPU")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.fixtures.split(",") if n] or sorted(p.name for p in (ROOT / "fixtures").iterdir() if p.is_dir())
    traces, seconds = [], {}
    for name in names:
        started = time.perf_counter()
        trace = trace_fixture(ROOT / "fixtures" / name, name, TraceDevice(args.device), args.timeout)
        seconds[name] = time.perf_counter() - started
        traces.append(trace)
        print(f"{name}: {len(trace.models)} model(s), {seconds[name]:.1f} s", flush=True)
        done = names[: len(traces)]  # written after each fixture: a run stopped at its limit keeps what it traced
        combined = {name: json.loads(render_trace_json(trace)) for name, trace in zip(done, traces)}
        (args.out / "gpu_trace.json").write_text(json.dumps(combined, indent=1) + "\n", encoding="utf-8")
        (args.out / "gpu_trace.md").write_text(report(done, traces, seconds), encoding="utf-8")


def trace_fixture(root: Path, name: str, device: TraceDevice, timeout: float) -> ShapeTrace:
    repo_map = load_map(root, use_cache=False)
    models = ZOO if name == "trace_zoo" else tuple(m.qualname for m in select_models(repo_map, ()))
    if device != TraceDevice.CUDA:
        models = tuple(m for m in models if m != "llama7b.Llama")  # 27 GB of fp32 weights off the GPU
    options = TraceOptions(models=models, device=device, timeout=timeout, jobs=1, use_cache=False)
    return trace_repository(root, options, repo_map) if models else ShapeTrace(root=repo_map.root, models=())


def report(names: list[str], traces: list[ShapeTrace], seconds: dict[str, float]) -> str:
    lines = ["# `repo-reader trace --device cuda` on the fixtures", "", *environment(), ""]
    lines += ["Time is wall time per module, summed over its calls: synchronised, children included, measured in a",
              "forward of its own after a warm-up forward, with no shape recording or FLOP counting in it. Peak",
              "memory is the CUDA allocator's peak while the module ran: weights, inputs and whatever the libraries",
              "allocate through it included.", ""]
    lines += ["| fixture | model | status | device | params | FLOPs | forward ms | peak MiB |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for name, trace in zip(names, traces):
        for model in trace.models:
            top = model.modules[0] if model.modules else None
            params, flops = (count_text(model.total_params), flops_text(model.flops)) if top else ("-", "-")
            lines.append(f"| {name} | `{model.qualname}` | {model.status.value} | {model.device or '-'} | "
                         f"{params} | {flops} | {_ms(top)} | {_mib(top)} |")
    lines += ["", "Seconds per fixture (discovery, one child per model, construction, input synthesis): "
              + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()), ""]
    for name, trace in zip(names, traces):
        for model in trace.models:
            lines += model_section(name, model)
    return "\n".join(lines) + "\n"


def environment() -> list[str]:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
        versions = f"torch {torch.__version__}, CUDA {torch.version.cuda}"
    except ImportError:
        return ["- torch missing"]
    lines = [f"- GPU: {gpu}", f"- {versions}, Python {platform.python_version()}",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
    if torch.cuda.is_available():  # the floor under every peak: what the first small Linear leaves allocated
        x, weight, bias = (torch.ones(*shape, device="cuda") for shape in ((2, 4), (3, 4), (3,)))
        before = torch.cuda.memory_allocated()
        torch.nn.functional.linear(x, weight, bias).sum().item()  # addmm: cuBLASLt and its workspace
        floor = torch.cuda.memory_allocated() - before
        lines.append(f"- allocated by a process's first Linear (2x4 input, with bias): {floor / 2**20:.1f} MiB")
    return lines


def model_section(name: str, model: ModelTrace) -> list[str]:
    lines = [f"## {name}: `{model.qualname}` ({model.status.value})", ""]
    if model.failure is not None:
        return lines + [f"{model.failure.message}", ""]
    chosen = next((a for a in model.input_attempts if a.error is None), None)
    if chosen is not None:
        lines += [f"Input `{chosen.description}` ({chosen.source}: {chosen.reason}).", ""]
    lines += ["| module | class | output | params | ms | peak MiB |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for call in rows(model.modules):
        path = call.path or "(model)"
        lines.append(f"| `{path}` | {call.class_name} | `{shape_text(call.outputs)}` | "
                     f"{count_text(call.total_params)} | {_ms(call)} | {_mib(call)} |")
    return lines + [""]


def rows(modules: tuple[ModuleCall, ...]) -> list[ModuleCall]:
    """The top two levels in execution order, then the slowest deeper modules, MAX_ROWS in all."""
    ran = [call for call in modules if call.order >= 0]
    top = sorted((call for call in ran if call.depth <= 2), key=lambda call: call.order)[:MAX_ROWS]
    slowest = sorted((call for call in ran if call.depth > 2), key=lambda call: -(call.time_ms or 0))
    return top + slowest[: max(0, MAX_ROWS - len(top))]


def _ms(call: ModuleCall | None) -> str:
    return f"{call.time_ms:.3f}" if call is not None and call.time_ms is not None else "-"


def _mib(call: ModuleCall | None) -> str:
    return f"{call.peak_memory / 2**20:.1f}" if call is not None and call.peak_memory is not None else "-"


if __name__ == "__main__":
    main()
