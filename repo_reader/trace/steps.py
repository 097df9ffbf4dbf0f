"""Parent side: what a trace run tells its progress display (`WorkStep`s), per model: what it starts,
that the child has imported, each input it tries (the child's `input DEVICE DESCRIPTION` status
words), and how it ended with the input that ran. Standard library only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from repo_reader.model import ModelTrace, TraceStatus, WorkStep
from repo_reader.sandbox.status import IMPORTED
from repo_reader.trace.request import TraceRequest

StepCallback = Callable[[WorkStep], None]
INPUT_WORD = "input"  # the child's status word before each candidate input: `input meta 2x3x32x32:float32`


@dataclass(frozen=True, slots=True)
class StepReporter:
    """Reports one request's steps to `on_step` (nothing when it is None)."""

    on_step: StepCallback | None
    index: int = 0  # 1-based among `total` requests; 0: the run route, not counted
    total: int = 0

    def started(self, request: TraceRequest) -> None:
        self._send(request, f"{_doing(request)}: importing torch and the repository's code")

    def imported(self, request: TraceRequest) -> None:
        self._send(request, _doing(request))

    def heard(self, request: TraceRequest, word: str) -> None:
        """A status word from the child: `imported`, or the input it tries now."""
        if word == IMPORTED:
            self.imported(request)
        elif word.startswith(f"{INPUT_WORD} "):
            _, device, description = (word.split(" ", 2) + ["", ""])[:3]
            self._send(request, f"{_name(request)} on {device}: trying input {description}")

    def finished(self, request: TraceRequest, trace: ModelTrace) -> None:
        self._send(request, f"{_name(request)}: {_outcome(request, trace)}", done=True)

    def _send(self, request: TraceRequest, text: str, done: bool = False) -> None:
        if self.on_step is not None:
            self.on_step(WorkStep(request.qualname, text, self.index, self.total, done))


def _name(request: TraceRequest) -> str:
    """`python train.py --lr 0.1` (a command), the code of README.md (code blocks), or the model."""
    if request.code_blocks:
        return request.entry_command or request.qualname
    return f"`{request.entry_command}`" if request.entry_command else request.qualname


def _doing(request: TraceRequest) -> str:
    device = "" if request.device == "auto" else f" on {request.device}"
    if request.route == "run":
        return f"running {_name(request)} to its model{device}"
    return f"building {request.qualname}{device or ' on meta'}"


def _outcome(request: TraceRequest, trace: ModelTrace) -> str:
    if trace.status is not TraceStatus.OK:
        message = trace.failure.message if trace.failure is not None else ""
        return f"{trace.status}: {message}"[:160]
    ran = next((attempt.description for attempt in trace.input_attempts if attempt.error is None), "")
    found = f"{trace.qualname} " if request.route == "run" else ""  # the model the script built
    return f"{found}ok on {trace.device}" + (f", input {ran}" if ran else "")
