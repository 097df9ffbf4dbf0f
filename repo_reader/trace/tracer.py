"""Trace one model in the child: import, construct, try devices and inputs, record, flag.

Child side: imports torch. Every hook is removed and train/eval mode restored in `finally`.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repo_reader.model import (Construction, InputAttempt, ModelTrace, TraceFailure, TraceFlag,
                               TraceStatus)
from repo_reader.sandbox import status
from repo_reader.trace import downloads, flags
from repo_reader.trace.assemble import Locator, module_calls
from repo_reader.trace.construct import (DevicePlan, StageError, build, constructor_arguments,
                                         device_plan, failure_from, import_class)
from repo_reader.trace.flops import ModuleFlopCounter
from repo_reader.trace.inputs import LATER_LAYER, Candidate, candidates
from repo_reader.trace.lines import LineRecorder
from repo_reader.trace.locations import SourceIndex
from repo_reader.trace.recorder import Recorder
from repo_reader.trace.request import TraceRequest
from repo_reader.trace.size_names import size_names
from repo_reader.trace.steps import INPUT_WORD

_DEVICE_LADDER = {"auto": ("meta", "fake", "cpu"), "run": ("meta", "cpu"), "meta": ("meta",), "fake": ("fake",),
                  "cpu": ("cpu",), "cuda": ("cuda",)}
_META_SIGNS = ("meta tensor", "meta device", "data-dependent", "datadependent", "dynamicoutputshape",
               "faketensor", "fake tensor", "_local_scalar_dense", "cannot copy out of meta",
               "unsupportedoperator", "could not guard on data-dependent", "data-independent implementation",
               "cannot be called on meta", "not on the expected device meta")


@dataclass(slots=True)
class _Outcome:
    """What one device attempt produced."""

    trace: ModelTrace | None = None
    data_dependent: bool = False
    parameter_bytes: int = 0
    failures: list[tuple[TraceStatus, TraceFailure]] = field(default_factory=list)


def trace_model(request: TraceRequest) -> ModelTrace:
    """The whole trace of one model; never raises for the repo's errors."""
    root = Path(request.root)
    notes = list(request.notes)
    try:
        cls, module = import_class(request, notes)
        downloads.intercept_from_pretrained()
        args, kwargs, shown = constructor_arguments(request, module, notes)
    except StageError as stage:
        construction = Construction(request.method, request.shown_args(), tuple(notes))
        return _failed(request, stage.status, stage.failure, construction, [], [])
    tracer = _Tracer(request, root, cls, args, kwargs)
    trace = tracer.run()
    construction = Construction(request.method, tuple(shown), tuple(notes) + tuple(downloads.intercepted))
    return _with_construction(trace, construction)


def trace_instance(request: TraceRequest, root: Path, model: nn.Module, first: Candidate | None,
                   construction: Construction) -> ModelTrace:
    """Trace a model the repository built itself (the run route), its first real input tried first."""
    trace = _Tracer(request, root, type(model), [], {}, prebuilt=model, first=first).run()
    return _with_construction(trace, construction)


class _Tracer:
    def __init__(self, request: TraceRequest, root: Path, cls: type[nn.Module], args: list[Any], kwargs: dict[str, Any],
                 prebuilt: nn.Module | None = None, first: Candidate | None = None) -> None:
        self.request, self.root, self.cls = request, root, cls
        self.args, self.kwargs = args, kwargs
        self.prebuilt, self.first = prebuilt, first  # the run route: the repository built it on meta
        self.attempts: list[InputAttempt] = []
        self.device_notes: list[str] = []
        self.index = SourceIndex(root, {(owner, name): (line, col) for owner, name, line, col in request.assignments})

    def run(self) -> ModelTrace:
        outcome = _Outcome()
        ladder = "run" if self.prebuilt is not None and self.request.device == "auto" else self.request.device
        for name in _DEVICE_LADDER.get(ladder, ("meta",)):
            if name == "cpu" and self.request.device == "auto" and not self._cpu_allowed(outcome):
                break
            if name == "cuda" and not torch.cuda.is_available():
                failure = TraceFailure("--device cuda: no CUDA device is available in this environment")
                outcome.failures.append((TraceStatus.NO_DEVICE, failure))
                break
            outcome = self._attempt(device_plan(name), outcome)
            if outcome.trace is not None:
                return outcome.trace
            if not outcome.data_dependent:
                break
        status, failure = _final_failure(outcome.failures, bool(self.request.inputs))
        return _failed(self.request, status, failure, None, self.attempts, self.device_notes)

    def _cpu_allowed(self, previous: _Outcome) -> bool:
        if not previous.data_dependent:
            return False
        available = _available_memory(self.request.memory_limit)
        if previous.parameter_bytes and previous.parameter_bytes * 2 > available:
            self.device_notes.append(
                f"cpu: not tried: weights need {previous.parameter_bytes / 2**30:.1f} GiB, "
                f"more than half of the {available / 2**30:.1f} GiB available")
            return False
        self.device_notes.append("cpu: real run with small inputs, because the model's control flow depends on tensor values")
        return True

    def _attempt(self, plan: DevicePlan, previous: _Outcome) -> _Outcome:
        outcome = _Outcome(failures=previous.failures, parameter_bytes=previous.parameter_bytes)
        torch.manual_seed(0)  # real runs (cpu/cuda) see the same random weights and inputs every time
        try:
            model = self._prebuilt_on(plan) if self.prebuilt is not None else \
                build(self.cls, self.args, self.kwargs, plan, self.root, self.request.factory)
        except StageError as stage:
            outcome.failures.append((stage.status, stage.failure))
            outcome.data_dependent = plan.name != "cpu" and _meta_specific(stage.failure.message)
            self._note_device(plan, outcome.data_dependent, "construction", stage.failure.message)
            return outcome
        outcome.parameter_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        small = plan.name == "cpu" and self.request.device == "auto"
        ladder = candidates(model, self.request.inputs, self.request.hints, small=small, examples=self.request.examples)
        if self.first is not None and not self.request.inputs:
            ladder = itertools.chain([self.first], ladder)
        for candidate in ladder:
            error = self._try_candidate(model, plan, candidate, outcome)
            if error is None:
                return outcome
            if outcome.data_dependent:
                self._note_device(plan, True, "forward", str(error))
                return outcome
        return outcome

    def _prebuilt_on(self, plan: DevicePlan) -> nn.Module:
        """The repository's own instance (on meta); a real run gets it with uninitialised CPU storage."""
        assert self.prebuilt is not None
        if plan.name == "meta":
            return self.prebuilt
        if plan.name == "cpu":
            return self.prebuilt.to_empty(device="cpu")
        raise StageError(TraceStatus.CONSTRUCTOR_ERROR, TraceFailure(f"{plan.name}: the run route builds on meta only"))

    def _try_candidate(self, model: nn.Module, plan: DevicePlan, candidate: Candidate, outcome: _Outcome) -> BaseException | None:
        status.tell(f"{INPUT_WORD} {plan.name} {candidate.describe()}")  # for the parent's progress display
        try:
            try:
                trace = self._record(model, plan, candidate, default_device=False)
            except (Exception, SystemExit) as error:
                if not _device_mismatch(error):
                    raise
                # forward builds tensors without a device: make the traced device the default
                trace = self._record(model, plan, candidate, default_device=True)
        except (Exception, SystemExit) as error:  # the repo's forward may raise anything
            failure = failure_from(error, self.root)
            # a guess from a later layer that fails is a wrong input, not evidence about forward's own failure
            verdict = TraceStatus.INPUT_ERROR if candidate.source == LATER_LAYER else TraceStatus.FORWARD_ERROR
            outcome.failures.append((verdict, failure))
            outcome.data_dependent = plan.name != "cpu" and _meta_specific(failure.message)
            self.attempts.append(InputAttempt(candidate.source, candidate.describe(), candidate.reason,
                                              f"on {plan.name}: {failure.message}"))
            return error
        self.attempts.append(InputAttempt(candidate.source, candidate.describe(), candidate.reason))
        outcome.trace = replace(trace, input_attempts=tuple(self.attempts), device_notes=tuple(self.device_notes))
        return None

    def _note_device(self, plan: DevicePlan, data_dependent: bool, stage: str, message: str) -> None:
        reason = "needs real values (data-dependent)" if data_dependent else "failed"
        self.device_notes.append(f"{plan.name}: {stage} {reason}: {message.split('. ')[0][:120]}")

    def _record(self, model: nn.Module, plan: DevicePlan, candidate: Candidate, *, default_device: bool) -> ModelTrace:
        modes = {module: module.training for module in model.modules()}
        recorder = Recorder(model, self.root)
        counter = ModuleFlopCounter(recorder.stack)
        fastpath = _set_attention_fastpath(False)
        uses = flags.ParameterUse()
        lines = LineRecorder(self.root, model) if self.request.record_lines else None
        try:
            with plan.active(default_device=default_device):
                args, kwargs = candidate.build(plan.device)
                model.eval()
                recorder.attach()
                with torch.no_grad(), counter, uses, lines or contextlib.nullcontext():
                    model(*args, **kwargs)
                if plan.name == "cuda":
                    _timing_pass(model, recorder, args, kwargs)
                train_flags, ran_train = self._train_pass(model, recorder, args, kwargs)
        finally:
            recorder.detach()
            _set_attention_fastpath(fastpath)
            for module, training in modes.items():
                module.training = training
        trace = self._assemble(model, plan, recorder, counter, train_flags, ran_train, frozenset(uses.used))
        if lines is None:
            return trace
        return replace(trace, lines=lines.lines(), size_names=size_names(model, args, kwargs))

    def _train_pass(self, model: nn.Module, recorder: Recorder, args: list[Any], kwargs: dict[str, Any]) -> tuple[list[TraceFlag], bool]:
        recorder.phase, recorder.mode = "modes", "train"
        model.train()
        grad = torch.enable_grad() if self.request.backward else torch.no_grad()
        try:
            with grad:
                outputs = model(*args, **kwargs)
        except (Exception, SystemExit) as error:
            self.device_notes.append(f"train mode: forward failed, only eval mode traced: {type(error).__name__}: {error}"[:300])
            return [], False
        locator = Locator(model, self.index)
        if not self.request.backward:
            return [], True
        ran = {path for path, record in recorder.records.items() if record.modes}
        return flags.gradient_flags(model, outputs, locator.parameter, ran), True

    def _assemble(self, model: nn.Module, plan: DevicePlan, recorder: Recorder, counter: ModuleFlopCounter,
                  train_flags: list[TraceFlag], ran_train: bool, used: frozenset[int] = frozenset()) -> ModelTrace:
        locator = Locator(model, self.index)
        modes = ("train", "eval") if ran_train else ("eval",)
        found = flags.call_flags(model, recorder.records, locator.defined, modes, used)
        found += flags.plain_container_flags(model, locator.attribute)
        found += flags.shared_flags(model, recorder.records, locator.defined)
        found += flags.repeated_call_flags(recorder.records, locator.defined, model)
        found += train_flags
        rows = module_calls(model, recorder.records, dict(counter.by_module), locator, cuda=plan.name == "cuda")
        unique = {id(p): p for p in model.parameters()}
        return ModelTrace(
            qualname=self.request.qualname, path=self.request.path, status=TraceStatus.OK,
            device=plan.name, device_notes=tuple(self.device_notes), construction=None,
            input_attempts=tuple(self.attempts), modules=rows, flags=_unique_flags(found),
            total_params=sum(p.numel() for p in unique.values()),
            trainable_params=sum(p.numel() for p in unique.values() if p.requires_grad),
            flops=counter.total, backward=self.request.backward,
        )


def _timing_pass(model: nn.Module, recorder: Recorder, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Per-module CUDA time and peak memory, from a forward of their own after an untimed warm-up:
    context creation, kernel loading and autotuning, and the shape and FLOP bookkeeping of the
    recording pass, all stay out of the times."""
    with torch.no_grad():
        recorder.phase = "off"
        model(*args, **kwargs)  # warm-up, hooks idle
        recorder.phase = "timing"
        model(*args, **kwargs)


def _set_attention_fastpath(enabled: bool) -> bool:
    """MultiheadAttention's fused eval-mode kernel has no FLOP formula and skips out_proj's hooks:
    trace the same computation the unfused way, on every device alike. Returns the previous setting."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        return True
    previous = bool(mha.get_fastpath_enabled())
    mha.set_fastpath_enabled(enabled)
    return previous


def _unique_flags(found: list[TraceFlag]) -> tuple[TraceFlag, ...]:
    seen: dict[tuple[str, str], TraceFlag] = {}
    for flag in found:
        seen.setdefault((flag.kind, flag.module), flag)
    return tuple(seen.values())


def _device_mismatch(error: BaseException) -> bool:
    text = str(error)
    return "same device" in text or "device type" in text or ("meta" in text and "cpu" in text)


def _meta_specific(message: str) -> bool:
    lowered = message.lower().replace(" ", "")
    return any(sign.replace(" ", "") in lowered for sign in _META_SIGNS)


def _final_failure(failures: list[tuple[TraceStatus, TraceFailure]], user_input: bool) -> tuple[TraceStatus, TraceFailure]:
    if not failures:
        return TraceStatus.INPUT_ERROR, TraceFailure("no candidate input could be built")
    status, failure = failures[-1]
    forward = [f for s, f in failures if s is TraceStatus.FORWARD_ERROR]
    if status not in (TraceStatus.FORWARD_ERROR, TraceStatus.INPUT_ERROR) or user_input or not forward:
        return status, failure
    status, failure = TraceStatus.FORWARD_ERROR, forward[-1]
    if len({(f.exception, f.location) for f in forward}) == 1 and failure.location is not None:
        if len(forward) > 1:  # every input failed at the same line: the forward itself fails
            failure = replace(failure, message=f"{failure.message} (the same line failed for all {len(forward)} inputs tried)")
        return status, failure
    return TraceStatus.INPUT_ERROR, TraceFailure(
        f"no candidate input ran ({len(forward)} tried); last error: {failure.message}",
        failure.exception, failure.location, detail=failure.detail)


def _available_memory(limit: int) -> int:
    available = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    if limit > 0:
        available = min(available or limit, limit)
    return available or 2**33


def _failed(request: TraceRequest, status: TraceStatus, failure: TraceFailure, construction: Construction | None,
            attempts: list[InputAttempt], device_notes: list[str]) -> ModelTrace:
    return ModelTrace(request.qualname, request.path, status, "", tuple(device_notes), construction,
                      tuple(attempts), (), (), failure=failure, backward=request.backward)


def _with_construction(trace: ModelTrace, construction: Construction) -> ModelTrace:
    return replace(trace, construction=construction)
