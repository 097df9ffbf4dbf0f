"""Forward pre/post hooks on every submodule: call order, counts, shapes, time and memory.

One Recorder serves several forward passes, told apart by `phase`: "shapes" records order, call
counts, shapes and the call site (the caller's frame, when it lies in the repository); "modes" only
notes that a module ran in `mode` (the train-mode pass); "timing" only runs the CUDA clock, in a pass
of its own, so that shape description and FLOP counting (a Python dispatch mode, with a slow first
use) stay out of the times.

Child side: imports torch. Hooks are removed in `detach`, which callers run in `finally`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch import nn

from repo_reader.model import Location, TracedValue
from repo_reader.trace.values import describe, describe_call


@dataclass(slots=True)
class CallRecord:
    """Mutable accumulator for one module path; frozen into ModuleCall by `tracer`."""

    order: int = -1
    calls: int = 0
    inputs: TracedValue | None = None
    outputs: TracedValue | None = None
    modes: set[str] = field(default_factory=set)
    time_ms: float = 0.0
    peak_memory: int = 0
    call_site: Location | None = None  # where its first call ran, when the caller is the repository's code


class Recorder:
    """Records calls of `model`'s submodules by path; `stack` is the current call path."""

    def __init__(self, model: nn.Module, root: Path | None = None) -> None:
        self.model = model
        self.sites = CallSites(root)
        self.records: dict[str, CallRecord] = {}
        self.stack: list[str] = []
        self.mode = "eval"
        self.phase = "shapes"
        self._paths: dict[int, list[str]] = {}
        self._started: list[tuple[float, int]] = []
        self._order = 0
        self._handles: list[Any] = []
        shared: dict[int, CallRecord] = {}
        for path, module in model.named_modules(remove_duplicate=False):
            self._paths.setdefault(id(module), []).append(path)
            # a module registered under several names has one record: hooks cannot tell the names apart
            self.records[path] = shared.setdefault(id(module), CallRecord())

    def attach(self) -> None:
        for module in self.model.modules():  # each object once, even when shared
            self._handles.append(module.register_forward_pre_hook(self._before, with_kwargs=True))
            self._handles.append(module.register_forward_hook(self._after, with_kwargs=True))

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.stack.clear()

    def canonical(self, path: str) -> str:
        """The first name of the module registered at `path` (where its FLOPs are counted)."""
        module = self.model.get_submodule(path)
        return self._paths.get(id(module), [path])[0]

    def _path_of(self, module: nn.Module) -> str:
        return self._paths.get(id(module), ["?"])[0]

    def _before(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        path = self._path_of(module)
        self.stack.append(path)
        if self.phase == "timing":
            self._start_cuda_clock()
            return
        record = self.records.setdefault(path, CallRecord())
        record.modes.add(self.mode)
        if self.phase != "shapes":
            return
        record.calls += 1
        if record.order < 0:
            record.order = self._order
            self._order += 1
            record.call_site = self.sites.caller()
        if record.inputs is None:
            record.inputs = describe_call(args, kwargs)

    def _after(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        path = self.stack.pop() if self.stack else self._path_of(module)
        record = self.records[path]
        if self.phase == "timing":
            self._stop_cuda_clock(record)
        elif self.phase == "shapes" and record.outputs is None:
            record.outputs = describe(output)

    def _start_cuda_clock(self) -> None:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        if self._started:  # the parent's peak so far, before the child resets the counter
            start, parent_peak = self._started[-1]
            self._started[-1] = (start, max(parent_peak, peak))
        torch.cuda.reset_peak_memory_stats()
        self._started.append((time.perf_counter(), 0))

    def _stop_cuda_clock(self, record: CallRecord) -> None:
        torch.cuda.synchronize()
        start, peak = self._started.pop()
        peak = max(peak, torch.cuda.max_memory_allocated())
        record.time_ms += (time.perf_counter() - start) * 1000.0
        record.peak_memory = max(record.peak_memory, peak)
        if self._started:
            parent_start, parent_peak = self._started[-1]
            self._started[-1] = (parent_start, max(parent_peak, peak))


class CallSites:
    """The line that called a module, read from the stack in its forward pre-hook: the first frame
    outside torch (the hook and `Module.__call__` are torch's, and so are containers' forwards, which
    hand the call on). A frame outside the repository (the tracer's own call of the model, a wrapper
    library) is an unknown site: None, never a guess."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else None
        self._paths: dict[str, str | None] = {}  # filename → root-relative path, None outside the repository
        self._torch = str(Path(torch.__file__).resolve().parent)

    def caller(self) -> Location | None:
        if self.root is None:
            return None
        frame: FrameType | None = sys._getframe(2)  # above the pre-hook and Recorder._before
        while frame is not None and self._in_torch(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None:
            return None
        path = self._relative(frame.f_code.co_filename)
        return None if path is None else Location(path, frame.f_lineno, _column(frame))

    def _in_torch(self, filename: str) -> bool:
        return filename.startswith(self._torch)

    def _relative(self, filename: str) -> str | None:
        if filename not in self._paths:
            try:
                self._paths[filename] = Path(filename).resolve().relative_to(self.root).as_posix()  # type: ignore[arg-type]
            except (ValueError, OSError):
                self._paths[filename] = None
        return self._paths[filename]


def _column(frame: FrameType) -> int:
    """1-based column of the call the frame is executing (the start of `self.layer(x)`), else 1."""
    positions = list(frame.f_code.co_positions())
    index = frame.f_lasti // 2
    column = positions[index][2] if 0 <= index < len(positions) else None
    return column + 1 if column is not None else 1
