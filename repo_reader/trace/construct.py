"""Import the model's class from the repository and build it on the requested device.

Child side: imports torch. Failures become TraceFailure values with the repo location.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import torch
from torch import nn

from repo_reader.model import ConstructorArg, TraceFailure, TraceStatus
from repo_reader.sandbox import status
from repo_reader.trace.locations import innermost_repo_frame, repo_frames
from repo_reader.trace.loading import Loaded, load_module, load_module_without_packages, package_base
from repo_reader.trace.request import ArgSpec, TraceRequest


MAX_BYPASSED_PACKAGES = 8  # package __init__ files a model's import may skip


class StageError(Exception):
    """A stage failed; carries the status and failure to report."""

    def __init__(self, status: TraceStatus, failure: TraceFailure) -> None:
        super().__init__(failure.message)
        self.status = status
        self.failure = failure


@dataclass(slots=True)
class DevicePlan:
    """Where tensors live for one attempt: `meta`, `fake` (FakeTensorMode on CPU), `cpu`, `cuda`."""

    name: str
    device: torch.device
    mode: Any = None  # the FakeTensorMode, for `fake`

    @contextlib.contextmanager
    def active(self, *, default_device: bool = True) -> Iterator[None]:
        """FakeTensorMode for `fake`; `default_device` also makes new tensors default to the device.
        Forward runs without it when it can: the device context costs a torch._dynamo import."""
        with contextlib.ExitStack() as stack:
            if self.mode is not None:
                stack.enter_context(self.mode)
            if default_device:
                stack.enter_context(self.device)
            yield


def device_plan(name: str) -> DevicePlan:
    if name == "fake":
        from torch._subclasses.fake_tensor import FakeTensorMode

        return DevicePlan("fake", torch.device("cpu"), FakeTensorMode(allow_non_fake_inputs=True))
    return DevicePlan(name, torch.device(name))


def failure_from(error: BaseException, root: Path, message: str | None = None) -> TraceFailure:
    frames = repo_frames(error, root)
    return TraceFailure(
        message=message or f"{type(error).__name__}: {error}".strip()[:500],
        exception=type(error).__name__,
        location=innermost_repo_frame(error, root),
        detail=tuple(f"{location.path}:{location.line} in {text}" for location, text in frames[-8:]),
    )


def import_class(request: TraceRequest, notes: list[str] | None = None) -> tuple[type[nn.Module], ModuleType]:
    """Import `request.module_name` and find the class; missing packages are named. A script that works
    at module level is loaded definitions-first (see `loading`), and `notes` says what was not run."""
    root = Path(request.root)
    try:
        try:
            loaded = load_module(request.module_name, root / request.path)
        except ModuleNotFoundError as error:
            loaded = _load_past_package_init(request, _missing_package(error, root), notes)
        module = loaded.module
        if loaded.skipped and notes is not None:
            lines = ", ".join(str(line) for line in loaded.skipped[:8]) + (" ..." if len(loaded.skipped) > 8 else "")
            notes.append(f"{request.path} works at module level: only its imports, definitions and "
                         f"assignments were run; statements at lines {lines} were not")
    except StageError:
        raise
    except ModuleNotFoundError as error:
        raise _missing_package(error, root) from None
    except BaseException as error:  # the repo's module-level code may raise anything
        raise StageError(TraceStatus.IMPORT_ERROR, failure_from(error, root)) from None
    status.tell(status.IMPORTED)  # the parent's --timeout counts from here
    target: Any = module
    for part in request.class_name.split("."):
        target = getattr(target, part, None)
    if not isinstance(target, type) or not issubclass(target, nn.Module):
        message = f"{request.class_name} is not an nn.Module class in {request.module_name}"
        raise StageError(TraceStatus.IMPORT_ERROR, TraceFailure(message))
    return target, module


def _load_past_package_init(request: TraceRequest, missing: StageError, notes: list[str] | None) -> Loaded:
    """A missing package stopped the import. When a package `__init__.py` of the repo needed it (the
    model's own package, or one the model imports from), load the model's module without running
    those `__init__`s; when the model's own code needs it, report the missing package."""
    if "." not in request.module_name or missing.status is not TraceStatus.MISSING_PACKAGE:
        raise missing
    root = Path(request.root)
    file = root / request.path
    base = package_base(request.module_name, file)
    skipped: list[str] = []  # packages whose __init__ made a failing import
    statements: list[str] = []  # `path:line` of the package __init__ statements that were skipped
    error: ModuleNotFoundError | None = None
    for _ in range(MAX_BYPASSED_PACKAGES):
        try:
            loaded = load_module_without_packages(request.module_name, file, frozenset(skipped), statements)
            break
        except ModuleNotFoundError as failed:
            error = failed
            package = _failing_package_init(failed, base)
            if package is None or package in skipped:
                raise _missing_package(failed, root) from None
            skipped.append(package)
        except BaseException:  # the model needs a name the skipped statements define: the first error explains it
            raise missing from None
    else:
        raise _missing_package(error, root) if error is not None else missing
    if notes is not None:
        lines = ", ".join(statements[:6]) + (" ..." if len(statements) > 6 else "")
        notes.append(f"{missing.failure.message}: {request.module_name} was loaded with the package __init__ "
                     f"statements that need it skipped ({lines})")
    return loaded


def _failing_package_init(error: ModuleNotFoundError, base: Path) -> str | None:
    """The repo package whose `__init__.py` made the failing import (the innermost one), if any."""
    found = None
    frame = error.__traceback__
    while frame is not None:
        path = Path(frame.tb_frame.f_code.co_filename)
        if path.name == "__init__.py" and path.is_relative_to(base):
            found = ".".join(path.parent.relative_to(base).parts)
        frame = frame.tb_next
    return found or None


def _missing_package(error: ModuleNotFoundError, root: Path) -> StageError:
    name = (error.name or str(error)).split(".")[0]
    failure = failure_from(error, root)
    local = (root / name).exists() or (root / f"{name}.py").exists()
    if local:
        return StageError(TraceStatus.IMPORT_ERROR, failure)
    message = f"package `{name}` is not installed"
    if failure.location is not None:
        message += f"; imported by {failure.location.path}:{failure.location.line}"
    return StageError(
        TraceStatus.MISSING_PACKAGE,
        TraceFailure(message, failure.exception, failure.location, name, failure.location, failure.detail),
    )


def constructor_arguments(
    request: TraceRequest, module: ModuleType, notes: list[str]
) -> tuple[list[Any], dict[str, Any], list[ConstructorArg]]:
    """Positional and keyword values, with what to show for each; fallbacks are added to `notes`."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    shown = []
    for position, spec in enumerate(request.args):
        value = _evaluate(spec, module, request, notes)
        if spec.name is None:
            args.append(value)
        else:
            kwargs[spec.name] = value
        shown.append(ConstructorArg(spec.name or f"#{position}", _shown(spec, value), spec.source))
    return args, kwargs, shown


def _evaluate(spec: ArgSpec, module: ModuleType, request: TraceRequest, notes: list[str]) -> Any:
    if not spec.is_expression:
        return json.loads(spec.value)
    defaults = {name: json.loads(value) for name, value in request.defaults}
    namespace = defaults | dict(vars(module))  # the entry point's option defaults fill missing names
    namespace.setdefault("args", SimpleNamespace(**defaults))
    try:
        return eval(spec.value, namespace)  # noqa: S307 - the repo's own expression, in the child
    except Exception as error:
        fallback = _config_from_defaults(spec.value, namespace, defaults)
        if fallback is not None:
            notes.append(f"`{spec.value}` could not be evaluated here ({type(error).__name__}: {error}); "
                         f"built {type(fallback).__name__} from its own defaults and the entry point's option defaults")
            return fallback
        name = spec.name or (spec.value if spec.value.isidentifier() else "NAME")
        message = (f"could not evaluate constructor argument `{spec.value}`: {type(error).__name__}: {error}; "
                   f"give it with --init {name}=VALUE")
        raise StageError(TraceStatus.CONSTRUCTOR_ERROR, TraceFailure(message, type(error).__name__)) from None


def _config_from_defaults(expression: str, namespace: dict[str, Any], defaults: dict[str, Any]) -> Any:
    """`GPTConfig(**model_args)` with `model_args` local to the script → `GPTConfig(n_layer=<default>, ...)`."""
    try:
        call = ast.parse(expression, mode="eval").body
        callee = eval(ast.unparse(call.func), namespace) if isinstance(call, ast.Call) else None  # noqa: S307
    except Exception:
        return None
    if not (isinstance(callee, type) and dataclasses.is_dataclass(callee)):
        return None
    names = {f.name for f in dataclasses.fields(callee) if f.init}
    try:
        return callee(**{name: value for name, value in defaults.items() if name in names})
    except Exception:
        return None


def _shown(spec: ArgSpec, value: Any) -> str:
    text = repr(value)
    if spec.is_expression and len(text) > 60:
        return spec.value
    return text if len(text) <= 80 else text[:79] + "…"


def build(cls: type[nn.Module], args: list[Any], kwargs: dict[str, Any], plan: DevicePlan, root: Path,
          factory: str = "") -> nn.Module:
    """`cls(*args, **kwargs)`, or `cls.<factory>(...)` when a classmethod builds it (`from_pretrained`),
    or `module:function(...)` when a factory function does (`build_sam_vit_b`)."""
    if ":" in factory:
        module, _, function = factory.partition(":")
        try:
            make = getattr(importlib.import_module(module), function)
        except (Exception, SystemExit) as error:
            raise StageError(TraceStatus.IMPORT_ERROR, failure_from(error, root)) from None
    else:
        make = getattr(cls, factory) if factory else cls
    try:
        with plan.active():
            model = make(*args, **kwargs)
    except (Exception, SystemExit) as error:  # the repo's constructor may raise anything
        raise StageError(TraceStatus.CONSTRUCTOR_ERROR, failure_from(error, root)) from None
    if not isinstance(model, nn.Module):
        message = f"{cls.__name__}.{factory}(...) returned {type(model).__name__}, not an nn.Module"
        raise StageError(TraceStatus.CONSTRUCTOR_ERROR, TraceFailure(message))
    if plan.name == "meta" and any(t.device.type != "meta" for t in (*model.parameters(), *model.buffers())):
        model = model.to("meta")  # layers handed in as arguments (`VGG(make_layers(cfg))`) were built on the CPU
    return model
