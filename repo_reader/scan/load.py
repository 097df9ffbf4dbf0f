"""Reading, parsing and collecting every file of a repository, in parallel and through the cache.

The only scan module that touches the disk at scale; it returns facts, never prints.
"""

from __future__ import annotations

import ast
import hashlib
import marshal
import os
import signal
import warnings as python_warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from repo_reader.cache_format import decoder
from repo_reader.scan import cache
from repo_reader.scan.confined import ConfinedReader, Refused, TooLarge
from repo_reader.scan.facts import ModuleFacts
from repo_reader.scan.source import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Unreadable, read_source
from repo_reader.scan.walk import find_src_roots, module_name, walk_repository

PARALLEL_THRESHOLD = 64  # below this many files to parse, a worker pool costs more than it saves
MAX_TEXT_ASSET_BYTES = 256 * 1024

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Scan:
    modules: tuple[ModuleFacts, ...]
    warnings: tuple[tuple[str, str, int | None], ...]  # (path, message, line)
    texts: dict[str, str]  # READMEs, shell scripts, Makefiles, packaging and YAML files
    src_roots: tuple[str, ...]
    cache_hits: int


@dataclass(frozen=True, slots=True)
class _Job:
    root: str
    path: str
    module: str
    is_package: bool
    key: str
    data: bytes


_Outcome = cache.Outcome


def _analyse(job: _Job) -> _Outcome:
    """Parse one file and collect its facts; any failure becomes a one-line warning."""
    from repo_reader.scan.collect import collect_facts  # here: a map from the cache parses nothing (start-up)
    from repo_reader.scan.nesting import TooDeep, walk_nested

    try:
        source = read_source(job.data, job.path.endswith(".ipynb"))
    except Unreadable as error:
        return job.path, None, (str(error), None)
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")  # invalid escape sequences in user code
            tree = ast.parse(source.text, filename=job.path)
    except SyntaxError as error:
        reason = _syntax_reason(error, source.text)
        return job.path, None, (reason, error.lineno)
    except RecursionError:
        return job.path, None, ("nested too deeply to parse; skipped", None)
    except MemoryError:
        return job.path, None, ("too large to parse (out of memory); skipped", None)
    except ValueError as error:
        return job.path, None, (f"could not parse ({error}); skipped", None)
    try:
        facts = walk_nested(collect_facts, tree, source.text, job.path, job.module, job.is_package)
    except (TooDeep, MemoryError) as error:
        return job.path, None, (str(error) or "out of memory while analysing; skipped", None)
    if source.cell_starts:
        facts = _with_cells(facts, source.cell_starts, source.cell_numbers)
    note = (source.note, None) if source.note else None
    return job.path, facts, note


def _with_cells(facts: ModuleFacts, starts: tuple[int, ...], numbers: tuple[int, ...]) -> ModuleFacts:
    from dataclasses import replace

    return replace(facts, cell_starts=starts, cell_numbers=numbers)


def _syntax_reason(error: SyntaxError, text: str) -> str:
    line = (error.text or "").strip()
    python2 = line.startswith(("print ", "exec ")) or ", e:" in line or "ur'" in line or "<>" in line
    if python2 or "Missing parentheses in call to 'print'" in (error.msg or ""):
        return f"does not parse as Python 3 (Python 2 syntax at line {error.lineno}); skipped"
    return f"syntax error at line {error.lineno}: {error.msg}; skipped"


_DECODE_OUTCOME = decoder(cache.Outcome)
_FORKED_JOBS: list[_Job] = []  # set before the pool forks: workers read jobs from memory, not a pipe


def _analyse_forked(index: int) -> tuple[int, bytes]:
    """In a worker: analyse one job and encode the outcome once, as plain data for the parent and the
    cache (marshal: the parent builds data from it, nothing more)."""
    return index, marshal.dumps(cast(Any, cache.encode_outcome(_analyse(_FORKED_JOBS[index]))))


@dataclass(frozen=True, slots=True)
class Sources:
    """Every file read and hashed, before any parsing: enough to tell whether anything changed."""

    root: Path
    jobs: tuple[_Job, ...]
    warnings: tuple[tuple[str, str, int | None], ...]
    texts: dict[str, str]
    src_roots: tuple[str, ...]

    def fingerprint(self) -> str:
        """One key for the whole repository's content (code, READMEs, scripts, configs)."""
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{cache.FACTS_VERSION}\0{self.root.name}".encode(errors="surrogatepass"))
        for job in self.jobs:
            digest.update(job.key.encode())
        for path in sorted(self.texts):
            digest.update(f"\0{path}\0{self.texts[path]}".encode(errors="surrogatepass"))
        for path, message, _ in self.warnings:
            digest.update(f"\0{path}\0{message}".encode(errors="surrogatepass"))
        return digest.hexdigest()


def list_sources(root: Path) -> Sources:
    walk = walk_repository(root)
    src_roots = find_src_roots(walk.code)
    warnings: list[tuple[str, str, int | None]] = [(path, message, None) for path, message in walk.warnings]
    jobs: list[_Job] = []
    reader = ConfinedReader(root)
    for path in walk.code:
        try:
            data = reader.read(path, MAX_NOTEBOOK_BYTES if path.endswith(".ipynb") else MAX_FILE_BYTES)
        except Refused as error:
            warnings.append((path, str(error), None))
            continue
        module, is_package = module_name(path, src_roots)
        jobs.append(_Job(str(root), path, module, is_package, cache.cache_key(data, path, module), data))
    texts = _read_texts(reader, walk.texts, warnings)
    return Sources(root, tuple(jobs), tuple(warnings), texts, src_roots)


def scan_repository(root: Path, *, use_cache: bool = True, progress: Progress | None = None) -> Scan:
    return load_modules(list_sources(root), use_cache=use_cache, progress=progress)


def load_modules(sources: Sources, *, use_cache: bool = True, progress: Progress | None = None) -> Scan:
    pack = cache.FactsPack.open(sources.root) if use_cache else None
    outcomes: list[_Outcome] = []
    jobs: list[_Job] = []
    for job in sources.jobs:
        cached = pack.get(job.key) if pack is not None else None
        if cached is not None:
            outcomes.append(cached)
        else:
            jobs.append(job)
    hits = len(outcomes)
    outcomes.extend(_run_jobs(jobs, pack, progress, hits, hits + len(jobs)))
    if pack is not None:
        pack.save()
    warnings = list(sources.warnings)
    modules = []
    for path, facts, warning in sorted(outcomes, key=lambda outcome: outcome[0]):
        if warning is not None:
            warnings.append((path, warning[0], warning[1]))
        if facts is not None:
            modules.append(facts)
    return Scan(tuple(modules), tuple(sorted(warnings, key=lambda w: (w[0], w[2] or 0))),
                sources.texts, sources.src_roots, hits)


def _run_jobs(jobs: list[_Job], pack: cache.FactsPack | None, progress: Progress | None,
              done: int, total: int) -> list[_Outcome]:
    """Parse and collect each job, in a pool of forked workers when there are many; new entries go
    into `pack` (pickled once, in the worker)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_THRESHOLD or workers < 2 or not hasattr(os, "fork"):
        return _run_here(jobs, pack, progress, done, total)
    import multiprocessing

    results: list[_Outcome] = []
    _FORKED_JOBS[:] = jobs
    try:
        try:
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_leave_stop_signals_to_the_parent)
        except OSError:  # no process to spare (a container's limit): parse here
            return _run_here(jobs, pack, progress, done, total)
        with pool:
            for index, data in pool.imap_unordered(_analyse_forked, range(len(jobs)), chunksize=16):
                plain = marshal.loads(data)
                results.append(_DECODE_OUTCOME(plain))
                if pack is not None:
                    pack.keep(jobs[index].key, plain)
                done += 1
                if progress:
                    progress(done, total)
    finally:
        _FORKED_JOBS.clear()
    return results


def _leave_stop_signals_to_the_parent() -> None:
    """In a worker: Ctrl-C, which reaches the whole process group, is the parent's to handle; the
    SIGTERM with which the parent then ends the pool ends a worker quietly (the CLI's handler, inherited
    through the fork, would raise in it and print a worker's traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def _run_here(jobs: list[_Job], pack: cache.FactsPack | None, progress: Progress | None,
              done: int, total: int) -> list[_Outcome]:
    results: list[_Outcome] = []
    for job in jobs:
        outcome = _analyse(job)
        if pack is not None:
            pack.keep(job.key, cache.encode_outcome(outcome))
        results.append(outcome)
        done += 1
        if progress:
            progress(done, total)
    return results


def _read_texts(reader: ConfinedReader, paths: list[str], warnings: list[tuple[str, str, int | None]]) -> dict[str, str]:
    """READMEs, scripts and configs; one over the size cap is left out quietly (a changelog, a dump)."""
    texts = {}
    for path in paths:
        try:
            texts[path] = reader.read(path, MAX_TEXT_ASSET_BYTES).decode("utf-8", errors="replace")
        except TooLarge:
            continue
        except Refused as error:
            warnings.append((path, str(error), None))
    return texts
