"""`python -m repo_reader.trace.child`: read a TraceRequest (JSON) on stdin, write a ModelTrace
(JSON) on stdout. The only place the repository's code runs. Imports torch.
"""

from __future__ import annotations

import json
import sys

from repo_reader.trace.codec import to_plain
from repo_reader.trace.request import TraceRequest
from repo_reader.trace import sandbox


def main() -> None:
    request = TraceRequest.from_json(sys.stdin.read())
    result_stream = sandbox.prepare_process(request.memory_limit)
    import torch  # noqa: F401 - after the memory limit, before the repo's code

    from repo_reader.trace.tracer import trace_model

    sandbox.intercept_downloads()
    own = [entry for entry in sys.path if entry not in ("", ".")]
    sys.path[:] = list(request.sys_path) + [entry for entry in own if not _is_repo_reader_home(entry)]
    if request.route == "run":
        from repo_reader.trace.run_entry import trace_by_running

        trace = trace_by_running(request)
    else:
        trace = trace_model(request)
    result_stream.write(json.dumps(to_plain(trace)))
    result_stream.flush()


def _is_repo_reader_home(entry: str) -> bool:
    """The folder holding `repo_reader/` is dropped so the repo cannot import our checkout's files."""
    from pathlib import Path

    return (Path(entry) / "repo_reader" / "trace" / "child.py").exists()


def repository_sys_path(front: tuple[str, ...]) -> list[str]:
    """sys.path for running the repository's code: its folders first, the folder holding our own
    `repo_reader/` dropped. For every child process, not only trace's."""
    own = [entry for entry in sys.path if entry not in ("", ".")]
    return list(front) + [entry for entry in own if not _is_repo_reader_home(entry)]


if __name__ == "__main__":
    main()
