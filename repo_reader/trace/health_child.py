"""`check --dynamic`, the child process: build the model named by a TraceRequest (stdin), find an
input that runs, judge its health, send the findings on the result channel. Imports torch."""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repo_reader.sandbox.child import exit_at_once, prepare_process
from repo_reader.trace import downloads
from repo_reader.trace.request import TraceRequest

if TYPE_CHECKING:
    from repo_reader.trace.health_checks import Batch


def main() -> None:
    payload = json.loads(sys.stdin.read())
    request = TraceRequest.from_json(json.dumps(payload["request"]))
    channel = prepare_process(request.memory_limit)
    import torch

    from repo_reader.trace.child import repository_sys_path

    downloads.intercept_downloads()
    sys.path[:] = repository_sys_path(request.sys_path)
    torch.manual_seed(0)
    channel.send(check_model(request, payload.get("loss")))
    exit_at_once()


def check_model(request: TraceRequest, loss: dict[str, Any] | None = None) -> dict[str, Any]:
    from repo_reader.trace.construct import StageError, build, constructor_arguments, device_plan, import_class
    from repo_reader.trace.health_checks import Health
    from repo_reader.trace.inputs import candidates

    root = Path(request.root)
    try:
        cls, module = import_class(request)
        downloads.intercept_from_pretrained()
        notes: list[str] = []  # fallbacks the construction used (not shown by check)
        args, kwargs, _ = constructor_arguments(request, module, notes)
        plan = device_plan("cpu")
        model = build(cls, args, kwargs, plan, root, request.factory)
    except StageError as stage:
        return {"findings": [], "skipped": f"{request.qualname}: not built: {stage.failure.message}"}
    where = _locator(request, cls)
    for candidate in candidates(model, request.inputs, request.hints, small=True, examples=request.examples):
        call_args, call_kwargs = candidate.build(plan.device)
        run = lambda: model(*call_args, **call_kwargs)  # noqa: E731
        try:
            model.eval()
            run()
        except (Exception, SystemExit):
            continue
        health = Health(model, run, root, where, candidate.describe(), _fixed_batch(model, candidate, plan.device))
        try:
            return {"findings": health.all(loss, request.defaults), "skipped": "",
                    "not_judged": [f"{request.qualname}: {why}" for why in health.not_judged]}
        except (Exception, SystemExit) as error:
            return {"findings": [], "skipped": f"{request.qualname}: checks stopped: {type(error).__name__}: {error}"}
    return {"findings": [], "skipped": f"{request.qualname}: no synthesised input ran the model"}


def _fixed_batch(model: Any, candidate: Any, device: Any) -> Batch | None:
    """The working input with its batch dimension set to FIXED_SAMPLES, if the model runs on it;
    else the working input itself."""
    from repo_reader.trace.health_checks import FIXED_SAMPLES, Batch
    from repo_reader.trace.inputs import BATCH, Candidate, TensorSpec

    def resize(spec: Any) -> Any:
        if isinstance(spec, TensorSpec) and spec.shape and spec.shape[0] == BATCH:
            return replace(spec, shape=(FIXED_SAMPLES, *spec.shape[1:]))
        return {key: resize(value) for key, value in spec.items()} if isinstance(spec, dict) else spec

    for chosen in (Candidate(candidate.source, candidate.reason, [resize(spec) for spec in candidate.args],
                             {name: resize(spec) for name, spec in candidate.kwargs.items()}), candidate):
        args, kwargs = chosen.build(device)
        try:
            model.eval()
            model(*args, **kwargs)
        except (Exception, SystemExit):
            continue
        return Batch(args, kwargs, chosen.describe())
    return None


def _locator(request: TraceRequest, cls: type) -> Any:
    try:
        class_line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        class_line = 1
    attributes = {name: (line, col) for owner, name, line, col in request.assignments if owner == request.qualname}

    def where(module_path: str) -> tuple[str, int, int]:
        first = module_path.split(".")[0]
        if first in attributes:
            line, col = attributes[first]
            return request.path, line, col
        return request.path, class_line, 1

    return where


if __name__ == "__main__":
    main()
