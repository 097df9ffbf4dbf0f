"""Score the static map against the hand-written labels in labels/*.json (see README.md beside this file).

    python benchmarks/accuracy/score_map.py --corpus /tmp/corpus [--only mae,dino] [--verbose]

Per repository: is the first-ranked entry a training script, is the first top-level model one the
labels say is trained, and how many labelled file roles match. Totals at the end. Runs the map in
this process (static: no repository code runs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from repo_reader.api import build_map  # noqa: E402
from repo_reader.model import RepoMap  # noqa: E402


@dataclass
class Score:
    folder: str
    entry: bool | None = None  # None: the repository has no training script
    primary: bool | None = None  # the first-ranked entry is the labels' first training script
    model: bool | None = None
    roles_right: int = 0
    roles_total: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)


def load_labels(labels: Path, only: set[str]) -> list[dict]:
    found = [json.loads(path.read_text()) for path in sorted(labels.glob("*.json"))]
    return [label for label in found if not only or label["folder"] in only]


def score_repository(label: dict, repo_map: RepoMap) -> Score:
    score = Score(label["folder"])
    trainings = label.get("trainings") or []
    entries = sorted(repo_map.entry_points, key=lambda e: e.rank)
    first = entries[0].path if entries else None
    training_entries = [t["entry"] for t in trainings]
    if training_entries:
        score.entry = first in training_entries
        score.primary = first == training_entries[0]
        if not score.entry:
            score.misses.append(f"entry: first is {first}, want one of {training_entries[:3]}")
    matching = [t for t in trainings if t["entry"] == first]
    wanted = [m for t in (matching or trainings[:1]) for m in t["models"]] or list(label.get("library_models") or [])
    top = repo_map.ranked_top_level()
    if wanted:
        chosen = top[0].qualname if top else None
        score.model = chosen in wanted
        if not score.model:
            where = next((i for i, m in enumerate(top) if m.qualname in wanted), None)
            rank = f"ranked {where + 1} of {len(top)}" if where is not None else \
                ("not top-level" if any(m.qualname in wanted for m in repo_map.models) else "not in the map")
            score.misses.append(f"model: first is {chosen}, want {wanted[0]} ({rank})")
    roles = {f.path: f.role.value for f in repo_map.files}
    for path, role in sorted((label.get("roles") or {}).items()):
        score.roles_total += 1
        got = roles.get(path)
        if got == role:
            score.roles_right += 1
        else:
            score.misses.append(f"role: {path} is {got}, want {role}")
    return score


def _mark(value: bool | None) -> str:
    return "-" if value is None else ("hit" if value else "MISS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding one unpacked copy per label 'folder'")
    parser.add_argument("--labels", type=Path, default=HERE / "labels")
    parser.add_argument("--only", default="", help="comma-separated folders")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    scores = []
    for label in load_labels(args.labels, set(filter(None, args.only.split(",")))):
        root = args.corpus / label["folder"]
        if not root.is_dir():
            print(f"{label['folder']}: not under {args.corpus}, skipped", file=sys.stderr)
            continue
        start = time.perf_counter()
        score = score_repository(label, build_map(root, use_cache=not args.no_cache))
        score.seconds = time.perf_counter() - start
        scores.append(score)
    print(f"{'repository':28} {'entry':>5} {'first':>5} {'model':>5} {'roles':>9} {'s':>6}")
    for s in scores:
        print(f"{s.folder:28} {_mark(s.entry):>5} {_mark(s.primary):>5} {_mark(s.model):>5} {s.roles_right:>4}/{s.roles_total:<4} {s.seconds:6.1f}")
        if args.verbose:
            for miss in s.misses:
                print(f"    {miss}")
    entries = [s.entry for s in scores if s.entry is not None]
    models = [s.model for s in scores if s.model is not None]
    primaries = [s.primary for s in scores if s.primary is not None]
    right, total = sum(s.roles_right for s in scores), sum(s.roles_total for s in scores)
    print(f"\nentry ranked first: {sum(entries)}/{len(entries)} (the labels' first: {sum(primaries)})   "
          f"trained model first: {sum(models)}/{len(models)} ({100 * sum(models) / max(len(models), 1):.0f} %)   "
          f"roles: {right}/{total} ({100 * right / max(total, 1):.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
