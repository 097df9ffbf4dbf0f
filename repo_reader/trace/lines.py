"""Shapes by source line: while the traced forward runs, what each line of the repository's own code
bound, returned and called, folded into distinct runs with a count (a loop's line: one run `×12`).

`sys.settrace` (Python 3.11; `sys.monitoring` is 3.12+) with a global tracer that gives a local one
only to the repository's frames; a torch function mode switches tracing off while a torch operation
runs, so the Python inside torch (meta kernels, dispatch modes) costs nothing; a global module forward
hook attributes each submodule call to the repository line that made it.
Child side: imports torch. `LineRecorder` restores the previous tracer and removes its hook on exit.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from repo_reader.model import LineRun, LineShapes, LineValue
from repo_reader.trace.statements import Statement, statement_table
from repo_reader.trace.values import describe, describe_call

MAX_RUNS_PER_LINE = 16  # distinct outcomes kept per line; later ones still count in `overflow`
MAX_RUNS = 20_000  # distinct outcomes kept in all: the result crosses the 64 MiB result channel whole
MAX_VALUES_PER_RUN = 32  # calls and names of one line (a comprehension over many heads)
_CALL_MACHINERY = os.path.realpath(nn.modules.module.__file__)
_INNER_FRAMES = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>")


@dataclass(frozen=True, slots=True)
class _Code:
    """A code object of the repository: where it lives and its statement table."""

    path: str
    function: str
    function_line: int
    statements: dict[int, Statement]


@dataclass(slots=True)
class _Line:
    function: str
    function_line: int
    runs: dict[tuple[LineValue, ...], int] = field(default_factory=dict)
    overflow: int = 0


class LineRecorder:
    """`with LineRecorder(root, model):` around a forward; `lines()` is what it saw, in line order."""

    def __init__(self, root: Path, model: nn.Module) -> None:
        self.root = os.path.realpath(root) + os.sep
        self._codes: dict[types.CodeType, _Code | None] = {}
        self._frames: dict[int, _Frame] = {}
        self._lines: dict[tuple[str, int], _Line] = {}
        self._runs_left = MAX_RUNS
        self._names = {id(module): _call_name(path, module) for path, module in model.named_modules()}
        self._machinery: dict[types.CodeType, bool] = {}
        self._previous: Any = None
        self._hook: Any = None
        self._untraced = _UntracedOperations()

    def __enter__(self) -> LineRecorder:
        self._previous = sys.gettrace()
        self._hook = nn.modules.module.register_module_forward_hook(self._after_module)
        self._untraced.__enter__()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self._previous)
        self._untraced.__exit__(None, None, None)
        if self._hook is not None:
            self._hook.remove()
        self._frames.clear()

    def lines(self) -> tuple[LineShapes, ...]:
        found = []
        for (path, line), seen in sorted(self._lines.items()):
            runs = tuple(LineRun(values, count) for values, count in seen.runs.items())
            found.append(LineShapes(path, line, seen.function, seen.function_line, runs, seen.overflow))
        return tuple(found)

    def record(self, code: _Code, line: int, values: tuple[LineValue, ...]) -> None:
        key = (code.path, line)
        seen = self._lines.get(key)
        if seen is None:
            if self._runs_left <= 0:
                return
            seen = self._lines[key] = _Line(code.function, code.function_line)
        values = values[:MAX_VALUES_PER_RUN]
        if values in seen.runs:
            seen.runs[values] += 1
        elif len(seen.runs) < MAX_RUNS_PER_LINE and self._runs_left > 0:
            seen.runs[values] = 1
            self._runs_left -= 1
        else:
            seen.overflow += 1

    def forget(self, frame: types.FrameType) -> None:
        self._frames.pop(id(frame), None)

    def _on_call(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        known = self._codes.get(code, _UNSEEN)
        if known is _UNSEEN:
            known = self._codes[code] = self._repository_code(code)
        if known is None:
            return None
        state = _Frame(self, known, frame)
        self._frames[id(frame)] = state
        return state.event

    def _repository_code(self, code: types.CodeType) -> _Code | None:
        if code.co_name in _INNER_FRAMES or code.co_name == "<module>":
            return None
        filename = os.path.realpath(code.co_filename)
        python = filename.endswith(".py") or "#cell" in filename  # a notebook's cell, compiled under its map location
        if not filename.startswith(self.root) or "site-packages" in filename or not python:
            return None
        relative = filename[len(self.root):].replace(os.sep, "/")
        return _Code(relative, code.co_qualname, code.co_firstlineno, statement_table(filename))

    def _after_module(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        try:
            self._note_call(module, args, output)
        except Exception:  # noqa: BLE001 - an odd value is not shown; the forward must go on regardless
            return

    def _note_call(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None and self._is_machinery(frame.f_code):
            frame = frame.f_back
        state = self._frames.get(id(frame)) if frame is not None else None
        if state is not None and state.frame is frame:
            name = self._names.get(id(module), type(module).__name__)
            state.calls.append(LineValue("call", name, describe(output), describe_call(args, {})))

    def _is_machinery(self, code: types.CodeType) -> bool:
        """`Module.__call__`'s own frames and comprehensions: skipped to reach the line that called."""
        known = self._machinery.get(code)
        if known is None:
            known = self._machinery[code] = (code.co_name in _INNER_FRAMES
                                              or os.path.realpath(code.co_filename) == _CALL_MACHINERY)
        return known


_UNSEEN: Any = object()


class _UntracedOperations(TorchFunctionMode):
    """Each torch operation runs with tracing off: its Python internals are never the repository's."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        tracer = sys.gettrace()
        if tracer is None:
            return func(*args, **(kwargs or {}))
        sys.settrace(None)
        try:
            return func(*args, **(kwargs or {}))
        finally:
            sys.settrace(tracer)


class _Frame:
    """The local tracer of one repository frame: a statement is done when the next one starts."""

    __slots__ = ("recorder", "code", "frame", "current", "calls")

    def __init__(self, recorder: LineRecorder, code: _Code, frame: types.FrameType) -> None:
        self.recorder, self.code, self.frame = recorder, code, frame
        self.current: Statement | None = None
        self.calls: list[LineValue] = []

    def event(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            statement = self.code.statements.get(frame.f_lineno)
            if statement is not self.current:
                self._finish(frame, None)
                self.current = statement
        elif event == "return":
            self._finish(frame, arg)
            self.recorder.forget(frame)
        elif event == "exception":  # the statement did not finish; a caught exception goes on at a new line
            self.current, self.calls = None, []
        return self.event

    def _finish(self, frame: types.FrameType, returned: Any) -> None:
        statement, calls = self.current, self.calls
        self.current, self.calls = None, []
        if statement is None:
            return
        try:
            self._record(frame, statement, calls, returned)
        except Exception:  # noqa: BLE001 - a tracer that raises would stop tracing and break the forward
            return

    def _record(self, frame: types.FrameType, statement: Statement, calls: list[LineValue], returned: Any) -> None:
        values = []
        if statement.targets:
            bound = frame.f_locals
            values = [LineValue("assign", name, describe(bound[name])) for name in statement.targets
                      if name in bound and _worth_showing(bound[name])]
        if statement.returns and _worth_showing(returned):
            values.append(LineValue("return", "return", describe(returned)))
        if values or calls:
            self.recorder.record(self.code, statement.line, tuple(calls) + tuple(values))


def _worth_showing(value: Any) -> bool:
    """Tensors, containers holding tensors, and sizes (ints): what a shape comment would mention."""
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    if isinstance(value, (tuple, list)):
        return any(isinstance(item, torch.Tensor) for item in value[:32]) or isinstance(value, torch.Size)
    if isinstance(value, dict):
        return any(isinstance(item, torch.Tensor) for item in list(value.values())[:32])
    return hasattr(value, "last_hidden_state") or hasattr(value, "logits")  # a ModelOutput


def _call_name(path: str, module: nn.Module) -> str:
    """`attn` for `h.0.attn`; a numbered child of a container (`h.0`) by its class, so that a loop over
    the container folds into one run."""
    last = path.rpartition(".")[2]
    return type(module).__name__ if not last or last.isdigit() else last
