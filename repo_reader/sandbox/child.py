"""Child side, before the repository's code runs: open the result channel, limit the address space,
stop bytecode writes and refuse network connections in-process.

The in-process refusal is the last line only: under bubblewrap the child has no network at all; without
it, raw `_socket` and subprocesses still get through (README, "Security model"). Standard library only.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from repo_reader.sandbox import status
from repo_reader.sandbox.channel import ResultChannel
from repo_reader.sandbox.environment import OFFLINE_ENVIRONMENT

_REFUSED = ("connect", "connect_ex", "sendto", "sendmsg")  # socket.socket methods that reach a peer


class NetworkBlocked(OSError):
    """Raised instead of opening a connection: the child runs offline."""


def prepare_process(memory_limit: int) -> ResultChannel:
    """Call first in a child's `main`, after reading its request; returns the channel for its result."""
    channel = ResultChannel.from_environment()
    status.open_from_environment()
    sys.dont_write_bytecode = True
    os.environ.update(OFFLINE_ENVIRONMENT)
    if memory_limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    sys.stdout = sys.stderr  # one output stream, in order (the parent keeps its last lines)
    for name in _REFUSED:
        setattr(socket.socket, name, refuse)
    socket.create_connection = refuse
    return channel


def exit_at_once() -> None:
    """Call last in a child's `main`, once its result is sent: flush and end without the interpreter's
    teardown, which takes seconds once torch (and torch._dynamo) are loaded. The parent stops the
    process tree and removes the temporary folder either way."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkBlocked("network access is blocked in repo-reader's child process (it runs offline)")
