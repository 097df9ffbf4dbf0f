"""Benchmark `repo-reader trace` against torchinfo's `summary` given the right input by hand.

One process per measurement: process wall time and peak memory (max RSS of the process tree),
layer-by-layer output-shape agreement, parameter totals (tied weights once) and FLOPs against
`torch.utils.flop_counter.FlopCounterMode`. torchinfo is a benchmark-only dependency
(`pip install torchinfo`).

    python benchmarks/bench_trace.py [--devices meta,cpu] [--models resnet50,gpt2,llama7b]

`--lines`: the cost of recording shapes by source line (`show`) instead, on the same models: the
traced forward in one process, with and without the line recorder (median of `--repeat` runs each,
after one warm-up of each), and the whole commands `trace` against `show` in fresh processes.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _scratch_repository() -> Path:
    """trace_models/ copied to a scratch folder with its link to the 7B fixture resolved: the trace
    sandbox (and the map) see only what lies inside the repository, never a link out of it."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    atexit.register(shutil.rmtree, scratch, True)
    return Path(shutil.copytree(HERE / "trace_models", scratch / "trace_models", symlinks=False))


REPO = _scratch_repository()
MODELS = {  # name: (qualname, input shape, dtype)
    "resnet50": ("resnet.ResNet50", (2, 3, 224, 224), "float32"),
    "gpt2": ("gpt2.GPT", (2, 1024), "int64"),
    "llama7b": ("llama7b.Llama", (2, 2048), "int64"),
}
CPU_SKIP = {"llama7b": "building 6.7B parameters for real needs ~27 GB in fp32"}


def measure(command: list[str]) -> dict[str, Any]:
    """Run `command` in a fresh process (through this script's --child mode) and time it."""
    wrapper = [sys.executable, __file__, "--child", json.dumps(command)]
    return json.loads(subprocess.run(wrapper, capture_output=True, text=True, check=True).stdout)


def child(command: list[str]) -> None:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "peak_mb": peak_kib / 1024, "rc": done.returncode,
                      "stdout": done.stdout, "stderr": done.stderr[-2000:]}))


def torchinfo_run(name: str, device: str) -> None:
    """Hand-fed torchinfo: import the model, build it, call summary with the right input."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torchinfo import summary

    qualname, shape, dtype = MODELS[name]
    sys.path.insert(0, str(REPO))
    module_name, _, class_name = qualname.rpartition(".")
    with torch.device(device):
        model = getattr(importlib.import_module(module_name), class_name)()
    inputs = torch.zeros(shape, dtype=getattr(torch, dtype), device=device)
    stats = summary(model, input_data=[inputs], device=torch.device(device), verbose=0,
                    col_names=("output_size", "num_params"))
    paths = {id(m): p for p, m in model.named_modules()}
    shapes: dict[str, list[int]] = {}
    for layer in stats.summary_list:  # a module called several times: its first call, as repo-reader reports
        if layer.module is not None and isinstance(layer.output_size, list) and layer.output_size:
            shapes.setdefault(paths.get(id(layer.module), "?"), list(layer.output_size))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(inputs)
    unique = {id(p): p.numel() for p in model.parameters()}
    print(json.dumps({"shapes": shapes, "torchinfo_params": stats.total_params,
                      "true_params": sum(unique.values()), "flop_counter": counter.get_total_flops()}))


def repo_reader_command(name: str, device: str) -> list[str]:
    return [sys.executable, "-m", "repo_reader", "trace", str(REPO), "--model", MODELS[name][0],
            "--device", device, "--format", "json", "--no-cache"]


def compare(name: str, device: str) -> dict[str, Any]:
    ours = measure(repo_reader_command(name, device))
    theirs = measure([sys.executable, __file__, "--torchinfo", name, device])
    if ours["rc"] != 0 or theirs["rc"] != 0:
        return {"model": name, "device": device, "error": (ours["stderr"] or theirs["stderr"])[-500:]}
    trace = json.loads(ours["stdout"])["models"][0]
    reference = json.loads(theirs["stdout"])
    our_shapes = {m["path"]: (m["outputs"] or {}).get("shape") for m in trace["modules"] if m["outputs"]}
    common = [path for path in reference["shapes"] if path in our_shapes]
    agree = sum(our_shapes[path] == reference["shapes"][path] for path in common)
    differ = [path for path in common if our_shapes[path] != reference["shapes"][path]][:5]
    return {
        "model": name, "device": device, "trace_device": trace["device"],
        "wall_ours": ours["wall"], "wall_torchinfo": theirs["wall"], "wall_ratio": ours["wall"] / theirs["wall"],
        "peak_mb_ours": ours["peak_mb"], "peak_mb_torchinfo": theirs["peak_mb"],
        "peak_ratio": ours["peak_mb"] / theirs["peak_mb"],
        "shapes_agree": f"{agree}/{len(common)}", "shapes_differ": differ,
        "params_ours": trace["total_params"], "params_torchinfo": reference["torchinfo_params"],
        "params_true": reference["true_params"],
        "flops_ours": trace["flops"], "flops_flop_counter": reference["flop_counter"],
        "input": next((a["description"] for a in trace["input_attempts"] if a["error"] is None), None),
    }


def lines_run(name: str, device: str, repeat: int) -> None:
    """In one process: the child's `trace_model` with and without line recording, alternated."""
    import dataclasses
    import statistics

    from repo_reader.trace.api import load_map, parse_inputs
    from repo_reader.trace.targets import RequestSettings, build_request, select_models
    from repo_reader.trace.tracer import trace_model

    qualname, shape, dtype = MODELS[name]
    repo_map = load_map(REPO, use_cache=False)
    settings = RequestSettings(device=device, inputs=parse_inputs(("x".join(map(str, shape)) + f":{dtype}",)))
    request = build_request(select_models(repo_map, (qualname,))[0], repo_map, REPO, (), settings)
    sys.path[:0] = list(request.sys_path)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    lines = 0
    for round_number in range(repeat + 1):
        for record in (False, True):
            started = time.perf_counter()
            trace = trace_model(dataclasses.replace(request, record_lines=record))
            if round_number:  # the first round warms imports and caches up
                seconds[record].append(time.perf_counter() - started)
            lines = max(lines, len(trace.lines))
            assert trace.status.value == "ok", trace.failure
    plain, recorded = statistics.median(seconds[False]), statistics.median(seconds[True])
    print(json.dumps({"trace_s": plain, "with_lines_s": recorded, "lines": lines, "device": trace.device}))


def compare_lines(name: str, device: str, repeat: int) -> dict[str, Any]:
    inner = measure([sys.executable, __file__, "--lines-child", name, device, str(repeat)])
    if inner["rc"] != 0:
        return {"model": name, "device": device, "error": inner["stderr"][-500:]}
    forward = json.loads(inner["stdout"])
    qualname, shape, dtype = MODELS[name]
    spec = "x".join(map(str, shape)) + f":{dtype}"
    show = [sys.executable, "-m", "repo_reader", "show", str(REPO), f"{qualname.rpartition('.')[2]}.forward",
            "--model", qualname, "--device", device, "--input", spec, "--format", "json", "--no-cache"]
    plain = measure(repo_reader_command(name, device) + ["--input", spec])
    shown = measure(show)
    return {"model": name, "device": device, "trace_device": forward["device"], "lines_recorded": forward["lines"],
            "forward_s": forward["trace_s"], "forward_with_lines_s": forward["with_lines_s"],
            "forward_ratio": forward["with_lines_s"] / forward["trace_s"],
            "command_trace_s": plain["wall"], "command_show_s": shown["wall"],
            "command_ratio": shown["wall"] / plain["wall"], "show_rc": shown["rc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="meta,cpu")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--torchinfo", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--lines", action="store_true", help="the cost of line recording (show) instead")
    parser.add_argument("--repeat", type=int, default=3, help="with --lines: timed runs of each")
    parser.add_argument("--lines-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.torchinfo:
        return torchinfo_run(*args.torchinfo)
    if args.lines_child:
        name, device, repeat = args.lines_child
        return lines_run(name, device, int(repeat))
    if args.lines:
        return lines_main(args)
    try:
        import torchinfo  # noqa: F401
    except ImportError:
        sys.exit("torchinfo is not installed: pip install torchinfo (benchmark-only dependency)")
    rows = []
    for name in args.models.split(","):
        for device in args.devices.split(","):
            if device == "cpu" and name in CPU_SKIP:
                rows.append({"model": name, "device": device, "skipped": CPU_SKIP[name]})
                continue
            rows.append(compare(name, device))
            print(_line(rows[-1]), flush=True)
    print(json.dumps(rows, indent=1))


def lines_main(args: argparse.Namespace) -> None:
    rows = []
    for name in args.models.split(","):
        for device in args.devices.split(","):
            if device == "cpu" and name in CPU_SKIP:
                continue
            rows.append(compare_lines(name, device, args.repeat))
            row = rows[-1]
            print(f"{name:9} {device:5} ERROR {row['error']}" if "error" in row else
                  f"{name:9} {device:5} forward {row['forward_s']:.2f}s, with lines {row['forward_with_lines_s']:.2f}s "
                  f"(x{row['forward_ratio']:.2f}, {row['lines_recorded']} lines)  command trace {row['command_trace_s']:.2f}s,"
                  f" show {row['command_show_s']:.2f}s (x{row['command_ratio']:.2f})", flush=True)
    print(json.dumps(rows, indent=1))


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['model']:9} {row['device']:5} ERROR {row['error']}"
    return (f"{row['model']:9} {row['device']:5} wall {row['wall_ours']:.2f}s vs {row['wall_torchinfo']:.2f}s "
            f"(x{row['wall_ratio']:.2f})  peak {row['peak_mb_ours']:.0f} vs {row['peak_mb_torchinfo']:.0f} MB "
            f"(x{row['peak_ratio']:.2f})  shapes {row['shapes_agree']}  params {row['params_ours']:,} / "
            f"torchinfo {row['params_torchinfo']:,} / true {row['params_true']:,}  FLOPs {row['flops_ours']:,} / "
            f"flop_counter {row['flops_flop_counter']:,}  input {row['input']}")


if __name__ == "__main__":
    main()
