"""Score `repo-reader trace REPO` (no --model, no input) against the labels' `trace` answers.

    python benchmarks/accuracy/score_trace.py --corpus /tmp/corpus [--python /tmp/rvenv/bin/python] [--only mae]

Runs `python -m repo_reader trace ROOT --format json` with the given interpreter (one that has the
repositories' requirements: torch, torchvision, timm, ...), so the repositories' code runs, in
repo-reader's child processes. A hit: the first traced model is the labelled class, it ran, its
parameter count is the labelled one, and its input shapes equal the labelled ones but for the batch.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHAPE = re.compile(r"\b\d+(?:x\d+)*(?=:)")
SAMPLES = re.compile(r"\[(\d+) × (\{[^\]]*\})\]|([^\[]+)")


def ran_inputs(model: dict) -> list[list[int]]:
    """Tensor shapes of the input attempt that ran (`2x3x224x224:float32, t=2:int64`); a list of N
    per-sample dicts (`[2 × {image: 3x1024x1024:float32, ...}]`) counts as a batch of N."""
    ran = [attempt for attempt in model.get("input_attempts") or [] if not attempt.get("error")]
    if not ran:
        return []
    shapes = []
    for samples, inside, plain in SAMPLES.findall(ran[-1]["description"]):  # each part: a sample list or plain text
        prefix = [int(samples)] if samples else []
        shapes += [prefix + [int(size) for size in text.split("x")] for text in SHAPE.findall(inside or plain)]
    return shapes


def same_but_batch(got: list[list[int]], want: list[list[int]]) -> bool:
    return len(got) == len(want) and all(len(g) == len(w) and g[1:] == w[1:] for g, w in zip(got, want))


def judge(label: dict, report: dict) -> tuple[bool, str]:
    """Right when the main answer or any alternative (`trace.alternatives`) fits the first traced model."""
    models = report.get("models") or []
    if not models:
        return False, "nothing traced"
    answers = [label["trace"], *label["trace"].get("alternatives", ())]
    matching = [answer for answer in answers if answer["model"] == models[0]["qualname"]] or answers[:1]
    verdicts = [_judge_one(answer, models) for answer in matching]
    return next((verdict for verdict in verdicts if verdict[0]), verdicts[0])


def _judge_one(want: dict, models: list[dict]) -> tuple[bool, str]:
    first = models[0]
    name = first["qualname"]
    if name != want["model"]:
        traced = [m["qualname"] for m in models]
        return False, f"traced {name} first, want {want['model']}" + (" (traced later)" if want["model"] in traced else "")
    if first["status"] != "ok":
        failure = first.get("failure") or {}
        return False, f"{first['status']}: {str(failure.get('message', ''))[:160]}"
    if want.get("params") is not None and first["total_params"] != want["params"]:
        return False, f"params {first['total_params']:,}, want {want['params']:,}"
    got = ran_inputs(first)
    if want.get("inputs") and not same_but_batch(got, want["inputs"]):
        return False, f"input {got}, want {want['inputs']}"
    how = (first.get("construction") or {}).get("method", "")
    return True, f"{first['total_params']:,} params, input {got}" + (" (run route)" if how.startswith("built by running") else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--labels", type=Path, default=HERE / "labels")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the repositories' requirements")
    parser.add_argument("--python-for", action="append", default=[], metavar="FOLDER=PYTHON",
                        help="another interpreter for one repository whose requirements conflict with the others'")
    parser.add_argument("--only", default="")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per repository")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    pythons = dict(item.split("=", 1) for item in args.python_for)
    labels = [json.loads(p.read_text()) for p in sorted(args.labels.glob("*.json"))]
    labels = [lab for lab in labels if lab.get("trace") and lab["trace"].get("model") and (not only or lab["folder"] in only)]
    hits, training_hits = 0, 0
    for label in labels:
        root = args.corpus / label["folder"]
        start = time.perf_counter()
        try:
            done = subprocess.run([pythons.get(label["folder"], args.python), "-m", "repo_reader", "trace", str(root), "--format", "json"],
                                  capture_output=True, text=True, timeout=args.timeout, cwd=HERE.parents[1])
            report = json.loads(done.stdout) if done.stdout.strip() else {}
            hit, why = judge(label, report) if report else (False, f"exit {done.returncode}: {done.stderr.strip()[-200:]}")
        except subprocess.TimeoutExpired:
            hit, why = False, f"over {args.timeout} s"
        hits += hit
        training_hits += hit and bool(label.get("trainings"))
        print(f"{label['folder']:28} {'hit' if hit else 'MISS':>4} {time.perf_counter() - start:6.1f}s  {why}", flush=True)
    print(f"\ntraced right: {hits}/{len(labels)} ({100 * hits / max(len(labels), 1):.0f} %)")
    training = sum(bool(label.get("trainings")) for label in labels)
    print(f"of the {training} with a training script: {training_hits}/{training} "
          f"({100 * training_hits / max(training, 1):.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
