"""One repository open in an editor: its analysis and `check` report, and its shape trace by line, run
in the background and kept on disk by repository content, so that reopening the repository is instant.
Standard library only (no pygls); never prints."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from repo_reader import __version__
from repo_reader.api import Analysis, analyse
from repo_reader.lint.run import check_repository
from repo_reader.map_cache import load_trace, store_trace
from repo_reader.model import CheckReport, ShapeTrace
from repo_reader.scan.load import list_sources
from repo_reader.trace.api import TraceOptions, trace_repository

Traced = Callable[[ShapeTrace | None, str], None]  # the trace (None when it could not run) and one line saying so


class Workspace:
    """The analysis is rebuilt after `refresh()` (a saved file); the trace is started again when the
    repository's content changed, while the previous one stays shown."""

    def __init__(self, root: Path, options: TraceOptions, on_traced: Traced) -> None:
        self.root = root.resolve()
        self.options = options
        self.on_traced = on_traced
        self._analysis: Analysis | None = None
        self._trace: ShapeTrace | None = None
        self._traced_key = ""
        self._lock = threading.Lock()

    def analysis(self) -> Analysis:
        with self._lock:
            if self._analysis is None:
                self._analysis = analyse(self.root)
            return self._analysis

    def trace(self) -> ShapeTrace | None:
        """The latest finished trace, or None while the first one runs."""
        return self._trace

    def check(self) -> CheckReport:
        return check_repository(self.root, [], [])

    def refresh(self) -> None:
        with self._lock:
            self._analysis = None

    def start_trace(self) -> threading.Thread | None:
        """Trace in a background thread (the child process runs the model) unless this content was traced."""
        key = trace_key(list_sources(self.root).fingerprint(), self.options)
        if key == self._traced_key:
            return None
        self._traced_key = key
        repo_map = self.analysis().repo_map
        thread = threading.Thread(target=self._run_trace, args=(key, repo_map), name="repo-reader trace", daemon=True)
        thread.start()
        return thread

    def _run_trace(self, key: str, repo_map: object) -> None:
        trace = load_trace(key) if self.options.use_cache else None
        cached = trace is not None
        try:
            trace = trace or trace_repository(self.root, self.options, repo_map)  # type: ignore[arg-type]
        except Exception as error:  # a bad option or a repository the trace cannot read: said, never raised
            self.on_traced(None, f"repo-reader: the trace did not run ({error})")
            return
        if not cached and self.options.use_cache:
            store_trace(key, trace)
        if key == self._traced_key:  # not overtaken by a newer content's trace
            self._trace = trace
            ran = sum(1 for model in trace.models if model.status == "ok")
            self.on_traced(trace, f"repo-reader: traced {ran} of {len(trace.models)} model(s) of {trace.root}"
                                  + (" (from the cache)" if cached else ""))


def trace_key(fingerprint: str, options: TraceOptions) -> str:
    """One key per repository content, trace options and version of this tool."""
    text = f"{__version__}\0{fingerprint}\0{options!r}"
    return hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=20).hexdigest()
