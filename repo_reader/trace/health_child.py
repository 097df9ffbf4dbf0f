"""`check --dynamic`, the child process: build the model named by a TraceRequest (stdin), find an
input that runs, judge its health, write the findings as JSON on stdout. Imports torch."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from repo_reader.trace import sandbox
from repo_reader.trace.request import TraceRequest


def main() -> None:
    request = TraceRequest.from_json(sys.stdin.read())
    result_stream = sandbox.prepare_process(request.memory_limit)
    import torch

    from repo_reader.trace.child import _is_repo_reader_home

    sandbox.intercept_downloads()
    own = [entry for entry in sys.path if entry not in ("", ".")]
    sys.path[:] = list(request.sys_path) + [entry for entry in own if not _is_repo_reader_home(entry)]
    torch.manual_seed(0)
    result_stream.write(json.dumps(check_model(request)))
    result_stream.flush()


def check_model(request: TraceRequest) -> dict[str, Any]:
    from repo_reader.trace.construct import StageError, build, constructor_arguments, device_plan, import_class
    from repo_reader.trace.health_checks import Health
    from repo_reader.trace.inputs import candidates

    root = Path(request.root)
    try:
        cls, module = import_class(request)
        sandbox.intercept_from_pretrained()
        notes: list[str] = []  # fallbacks the construction used (not shown by check)
        args, kwargs, _ = constructor_arguments(request, module, notes)
        plan = device_plan("cpu")
        model = build(cls, args, kwargs, plan, root)
    except StageError as stage:
        return {"findings": [], "skipped": f"{request.qualname}: not built: {stage.failure.message}"}
    where = _locator(request, cls)
    for candidate in candidates(model, request.inputs, request.hints, small=True):
        call_args, call_kwargs = candidate.build(plan.device)
        run = lambda: model(*call_args, **call_kwargs)  # noqa: E731
        try:
            model.eval()
            run()
        except (Exception, SystemExit):
            continue
        try:
            return {"findings": Health(model, run, root, where, candidate.describe()).all(), "skipped": ""}
        except (Exception, SystemExit) as error:
            return {"findings": [], "skipped": f"{request.qualname}: checks stopped: {type(error).__name__}: {error}"}
    return {"findings": [], "skipped": f"{request.qualname}: no synthesised input ran the model"}


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
