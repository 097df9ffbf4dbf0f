"""The trace child's `main` (run by `repo_reader.sandbox.process`): read a TraceRequest (JSON) on stdin,
send a ModelTrace on the result channel. The only place the repository's code runs. Imports torch.
"""

from __future__ import annotations

import sys

from repo_reader.sandbox import status
from repo_reader.sandbox.child import exit_at_once, prepare_process
from repo_reader.trace import downloads
from repo_reader.trace.codec import to_plain
from repo_reader.trace.request import TraceRequest


def main() -> None:
    request = TraceRequest.from_json(sys.stdin.read())
    channel = prepare_process(request.memory_limit)
    import torch  # noqa: F401 - after the memory limit, before the repo's code
    import torch._dynamo  # noqa: F401 - the tracer's function modes import it at their first call (seconds): part of
    # importing torch, before --timeout starts, not of the trace

    from repo_reader.trace.tracer import trace_model

    downloads.intercept_downloads()
    sys.path[:] = repository_sys_path(request.sys_path)
    if request.package and request.route != "run":  # `import package_root.models`; last, so it shadows nothing
        from pathlib import Path

        sys.path.append(str(Path(request.root).parent))
    if request.route == "run":  # the script imports the repository as it runs: its clock starts now
        from repo_reader.trace.run_entry import trace_by_running

        status.tell(status.IMPORTED)
        channel.send(to_plain(trace_by_running(request)))
    else:
        channel.send(to_plain(trace_model(request)))
    exit_at_once()


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
