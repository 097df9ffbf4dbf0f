"""Score `repo-reader check` on the development benchmark: recall on the buggy side, silence on the fixed side.

    python benchmarks/check/score_check.py                       # reproductions, plus commits found in the mirrors
    python benchmarks/check/score_check.py --git "/path/{owner}+{name}/repo"   # where the clones' git folders are

A bug counts as found when `check` (what a user sees: low-confidence findings hidden) reports its code
at its labelled line of the buggy version. The fixed version must then have no finding of that code
in that file (a real repository's fixed file may keep unrelated findings; a reproduction's fixed twin,
written from its `fix` edits, must be silent altogether). Commit cases check the whole repository at the fix's parent and at the fix,
from `git archive` of a local clone (nothing fetched is stored here). Prints one line per case and the totals.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_reader.lint.run import check_repository
from repo_reader.model import CheckReport

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"#\s*bug:\s*(RR\d{3})")
MARK_COMMENT = re.compile(r"  # bug: RR\d{3}")


@dataclass(frozen=True)
class Outcome:
    case: str
    found: bool
    fixed_silent: bool
    note: str = ""


def labelled(folder: Path) -> list[tuple[str, int, str]]:
    found = []
    for file in sorted(folder.rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if match := MARK.search(line):
                found.append((file.relative_to(folder).as_posix(), number, match.group(1)))
    return found


def located(report: CheckReport) -> set[tuple[str, int, str]]:
    return {(finding.path, finding.line, finding.code) for finding in report.findings}


def fixed_twin(folder: Path, fixes: dict[str, list[list[str]]], into: Path) -> Path:
    """A copy of the buggy mini-repo with the fixer's edits applied (each `before` must occur once)."""
    shutil.copytree(folder, into)
    for name, edits in fixes.items():
        text = (into / name).read_text(encoding="utf-8")
        for before, after in edits:
            if text.count(before) != 1:
                raise SystemExit(f"{folder.name}/{name}: the fix's text {before!r} does not occur exactly once")
            text = text.replace(before, after)
        (into / name).write_text(MARK_COMMENT.sub("", text), encoding="utf-8")
    return into


def score_reproduction(case: dict[str, Any]) -> Outcome:
    folder = HERE / "reproductions" / case["id"]
    labels = labelled(folder)
    found = located(check_repository(folder, use_cache=False))
    with tempfile.TemporaryDirectory() as scratch:
        fixed = check_repository(fixed_twin(folder, case["fix"], Path(scratch) / case["id"]), use_cache=False)
    hit = bool(labels) and all(label in found for label in labels)
    extra = sorted(found - set(labels))
    note = f"also: {extra}" if extra else ""
    if fixed.findings:
        note += f" fixed side: {sorted(located(fixed))}"
    return Outcome(case["id"], hit, not fixed.findings, note.strip())


def _tree(git_dir: Path, commit: str, into: Path) -> bool:
    """The commit's tree under `into`; its Python files only when a mirror lacks some large blob (an image)."""
    for paths in ([], ["--", "*.py"]):
        done = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar", commit, *paths],
                              capture_output=True, check=False)
        if done.returncode == 0:
            break
    else:
        return False
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return True


def score_commit(case: dict[str, object], pattern: str) -> Outcome | None:
    owner, name = str(case["repo"]).split("/")
    git_dir = Path(pattern.format(owner=owner, name=name))
    if not git_dir.exists():
        return None
    with tempfile.TemporaryDirectory() as scratch:
        buggy, fixed = Path(scratch) / "buggy" / name, Path(scratch) / "fixed" / name
        if not (_tree(git_dir, f"{case['fix']}^", buggy) and _tree(git_dir, str(case["fix"]), fixed)):
            return Outcome(str(case["id"]), False, False, "commit not in the clone")
        label = (str(case["path"]), int(str(case["line"])), str(case["code"]))
        found = located(check_repository(buggy, use_cache=False))
        after = [f for f in check_repository(fixed, use_cache=False).findings
                 if f.path == case["path"] and f.code == case["code"]]
        near = sorted(f for f in found if f[0] == label[0] and f[2] == label[2])
        note = "" if label in found else f"same file and code: {near}"
        return Outcome(str(case["id"]), label in found, not after, note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--git", default="/work/.mirror/{owner}+{name}/repo",
                        help="where a CORPUS repository's git folder is, with {owner} and {name}")
    args = parser.parse_args()
    cases = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
    outcomes = [score_reproduction(case) for case in cases["reproductions"]]
    for case in cases["commits"]:
        outcome = score_commit(case, args.git)
        if outcome is None:
            print(f"skipped {case['id']}: no clone of {case['repo']} at {args.git}")
        else:
            outcomes.append(outcome)
    for outcome in outcomes:
        status = "found " if outcome.found else "MISSED"
        silent = "fixed silent" if outcome.fixed_silent else "FIXED NOT SILENT"
        print(f"{status} {silent:<16} {outcome.case}  {outcome.note}".rstrip())
    found = sum(outcome.found for outcome in outcomes)
    silent = sum(outcome.fixed_silent for outcome in outcomes)
    print(f"\nrecall: {found}/{len(outcomes)} ({found / max(len(outcomes), 1):.0%}); "
          f"fixed versions silent: {silent}/{len(outcomes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
