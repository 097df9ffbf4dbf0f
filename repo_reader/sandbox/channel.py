"""The result channel: one length-prefixed JSON frame on a file descriptor of its own, opened before
the repository's code runs (child side: `ResultChannel`; parent side: `read_result`).

Framing: b"RRR1", the payload's length as 8 big-endian bytes, the UTF-8 JSON payload; exactly one frame
and nothing after it. The parent checks the framing, the JSON and the schema; anything else is an
`InvalidResult`. The result is validated, not authenticated: the repository's code runs in the same
process and can still lie about its model, but never crash or steer the parent. Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

from repo_reader.sandbox.schema import SchemaError, decode

T = TypeVar("T")

MAGIC = b"RRR1"
HEADER = len(MAGIC) + 8
RESULT_LIMIT = 64 * 2**20  # bytes the parent accepts on the channel; a larger result is invalid
FD_VARIABLE = "REPO_READER_RESULT_FD"  # the child finds the channel's descriptor here (removed once read)

_dumps = json.dumps  # bound at import, before the repository's code can patch `json.dumps`
_loads = json.loads


class InvalidResult(ValueError):
    """What came back on the result channel is not one well-formed result; the message says why."""


def encode_frame(payload: bytes) -> bytes:
    return MAGIC + len(payload).to_bytes(8, "big") + payload


def decode_frame(data: bytes) -> bytes:
    """The payload of the one frame that `data` must be exactly."""
    if not data:
        raise InvalidResult("nothing on the result channel")
    if len(data) < HEADER or not data.startswith(MAGIC):
        raise InvalidResult(f"bad frame header {data[:HEADER]!r}"[:80])
    length = int.from_bytes(data[len(MAGIC):HEADER], "big")
    if len(data) - HEADER < length:
        raise InvalidResult(f"truncated frame ({len(data) - HEADER} of {length} bytes)")
    if len(data) - HEADER > length:
        raise InvalidResult(f"{len(data) - HEADER - length} bytes after the frame")
    return data[HEADER:]


def read_result(cls: type[T], data: bytes) -> T:
    """The frame in `data` decoded as JSON and then as `cls`, strictly; InvalidResult otherwise."""
    if len(data) > RESULT_LIMIT + HEADER:
        raise InvalidResult(f"larger than {RESULT_LIMIT // 2**20} MiB")
    payload = decode_frame(data)
    try:
        plain = _loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InvalidResult(f"not JSON: {type(error).__name__}") from None
    try:
        return decode(cls, plain)
    except SchemaError as error:
        raise InvalidResult(str(error)[:200]) from None


class ResultChannel:
    """Child side: the descriptor named by REPO_READER_RESULT_FD, moved to a private close-on-exec copy
    (the repository's subprocesses do not inherit it). `send` writes the one frame and closes it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def from_environment(cls) -> ResultChannel:
        inherited = int(os.environ.pop(FD_VARIABLE))
        private = os.dup(inherited)  # os.dup's copy is not inheritable
        os.close(inherited)
        return cls(private)

    def send(self, value: Any) -> None:
        frame = encode_frame(_dumps(value).encode("utf-8"))
        with os.fdopen(self._fd, "wb", closefd=True) as stream:
            stream.write(frame)
