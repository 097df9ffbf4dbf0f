"""Benchmark: `repo-reader map` on a large codebase against a plain `ast.parse` of the same files.

    python benchmarks/bench_map.py /path/to/unpacked/transformers

Each measurement runs in a fresh process. Prints seconds and the ratios the targets speak of:
cold map / parse (target <= 2.0, using every core) and warm map / cold map (target <= 0.10).
"""

from __future__ import annotations

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
import sys, time
from pathlib import Path
start = time.perf_counter()
from repo_reader.api import build_map
repo_map = build_map(Path(sys.argv[1]), use_cache=sys.argv[2] == "cache")
print(time.perf_counter() - start, len(repo_map.files), len(repo_map.edges))
"""


def run(code: str, *args: str, cache_home: str) -> list[float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                          env={"XDG_CACHE_HOME": cache_home, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    return [float(value) for value in done.stdout.split()]


def main() -> None:
    root = sys.argv[1]
    with tempfile.TemporaryDirectory() as cache_home:
        parse_seconds, parsed = run(PARSE, root, cache_home=cache_home)
        nocache_seconds, files, edges = run(MAP, root, "nocache", cache_home=cache_home)
        cold_seconds, _, _ = run(MAP, root, "cache", cache_home=cache_home)
        warm_seconds, _, _ = run(MAP, root, "cache", cache_home=cache_home)
    result = {
        "files_parsed": int(parsed), "files_mapped": int(files), "call_edges": int(edges),
        "ast_parse_s": round(parse_seconds, 2), "map_no_cache_s": round(nocache_seconds, 2),
        "map_cold_s": round(cold_seconds, 2), "map_warm_s": round(warm_seconds, 2),
        "cold_over_parse": round(cold_seconds / parse_seconds, 2),
        "warm_over_cold": round(warm_seconds / cold_seconds, 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
