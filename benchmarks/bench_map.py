"""Benchmark: `repo-reader map` on a large codebase against a plain `ast.parse` of the same files.

    python benchmarks/bench_map.py /path/to/unpacked/transformers [--repeat 3] [--stages]

Each measurement runs in a fresh process, `--repeat` times in turn (parse, no-cache, cold, warm; then
again), and the fastest of each is kept: on a shared machine the slowest runs measure the neighbours.
Prints seconds, the map process's peak memory, and the ratios the targets speak of: cold map / parse (target <= 2.0, using every
core) and warm map / cold map (target <= 0.10). `--stages` also prints where a no-cache map's time
goes, stage by stage, in one process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PARSE = """
import ast, os, sys, time, warnings
warnings.simplefilter("ignore")
root = sys.argv[1]
start = time.perf_counter()
count = 0
for folder, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git")]
    for name in files:
        if name.endswith(".py"):
            try:
                ast.parse(open(os.path.join(folder, name), "rb").read())
                count += 1
            except (SyntaxError, ValueError):
                pass
print(time.perf_counter() - start, count)
"""

MAP = """
import resource, sys, time
from pathlib import Path
start = time.perf_counter()
from repo_reader.api import build_map
repo_map = build_map(Path(sys.argv[1]), use_cache=sys.argv[2] == "cache")
print(time.perf_counter() - start, len(repo_map.files), len(repo_map.edges),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run(code: str, *args: str, cache_home: str) -> list[float]:
    return [float(value) for value in run_text(code, *args, cache_home=cache_home).split()]


def run_text(code: str, *args: str, cache_home: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                          env={"XDG_CACHE_HOME": cache_home, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    return done.stdout


STAGES = """
import sys, time
from pathlib import Path
from repo_reader import api
from repo_reader.index.classes import ClassIndex
from repo_reader.index.registries import find_registries
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex
from repo_reader.index.pointsto import PointsTo
from repo_reader.passes.call_targets import CallTargets
from repo_reader.passes.callgraph import CallResolver, build_edges, build_graph
from repo_reader.scan.load import list_sources, load_modules
seconds = {}
last = time.perf_counter()
def lap(name):
    global last
    now = time.perf_counter()
    seconds[name] = round(now - last, 2)
    last = now
root = Path(sys.argv[1])
with api.collector_paused():
    sources = list_sources(root); lap("list files")
    scan = load_modules(sources, use_cache=False); lap("scan (parse + collect, workers)")
    symbols = SymbolTable(scan.modules); classes = ClassIndex(scan.modules, symbols)
    registries = find_registries(scan.modules, symbols); lap("symbols, classes, registries")
    types = TypeIndex(scan.modules, symbols, classes, registries); lap("types")
    targets = CallTargets(PointsTo(scan.modules, symbols, classes), classes); lap("points-to")
    edges = build_edges(scan.modules, CallResolver(symbols, classes, types, registries, targets)); lap("call edges")
    graph = build_graph(edges, [d.qualname for d in api._definitions(scan.modules)]); lap("definitions + graph")
    start = time.perf_counter()
    api._analyse_sources(root, sources, False, None)
    seconds["whole no-cache analysis, again"] = round(time.perf_counter() - start, 2)
for name, value in seconds.items():
    print(f"{value:7.2f} s  {name}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the fastest is kept")
    parser.add_argument("--stages", action="store_true", help="also time the stages of one no-cache map")
    args = parser.parse_args()
    parse, nocache, cold, warm, peak = [], [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache_home:
            parse_seconds, parsed = run(PARSE, args.root, cache_home=cache_home)
            nocache_seconds, files, edges, nocache_peak = run(MAP, args.root, "nocache", cache_home=cache_home)
            cold_seconds, _, _, cold_peak = run(MAP, args.root, "cache", cache_home=cache_home)
            warm_seconds, _, _, _ = run(MAP, args.root, "cache", cache_home=cache_home)
            peak.append(max(nocache_peak, cold_peak))
        parse.append(parse_seconds); nocache.append(nocache_seconds); cold.append(cold_seconds); warm.append(warm_seconds)
    result = {
        "files_parsed": int(parsed), "files_mapped": int(files), "call_edges": int(edges), "runs": args.repeat,
        "ast_parse_s": round(min(parse), 2), "map_no_cache_s": round(min(nocache), 2),
        "map_cold_s": round(min(cold), 2), "map_warm_s": round(min(warm), 2),
        "cold_over_parse": round(min(cold) / min(parse), 2),
        "warm_over_cold": round(min(warm) / min(cold), 3),
        "peak_memory_mib": round(max(peak)),  # the map's own process (scan workers are forked apart)
    }
    print(json.dumps(result, indent=2))
    runs = {"parse": parse, "no-cache": nocache, "cold": cold, "warm": warm}
    print("every run, s:", "; ".join(f"{name} {' '.join(f'{v:.2f}' for v in values)}" for name, values in runs.items()))
    if args.stages:
        with tempfile.TemporaryDirectory() as cache_home:
            print(run_text(STAGES, args.root, cache_home=cache_home), end="")


if __name__ == "__main__":
    main()
