"""The run route: run the repository's training entry point the way a person would, and stop where
training is about to begin. The module whose parameters the first optimizer receives is the model;
the arguments of its first forward call, if the script gets that far, are its input.

Child side: imports torch. Runs the repository's script in a disposable copy of the repository (its
relative paths resolve, and nothing it writes reaches the user's tree); parameters and buffers are
moved to the meta device as they are registered, so a 7B model costs nothing; CUDA, distributed
set-up, `torch.compile`, `torch.save`, DataLoader workers and missing torchvision datasets are
neutralised (see `stand_ins`).
"""

from __future__ import annotations

import contextlib
import os
import runpy
import shutil
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repo_reader.model import Construction, ModelTrace, TraceFailure, TraceStatus
from repo_reader.trace import stand_ins
from repo_reader.trace.request import TraceRequest

MAX_FILE_BYTES = 8 * 2**20  # files copied into the disposable tree (weights and data stay behind)
MAX_COPY_BYTES = 400 * 2**20
SKIPPED_FOLDERS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache", ".pytest_cache"}
FRAMES_SEARCHED = 12


class Reached(BaseException):
    """Raised at the model's first forward call: the script has come as far as it needs to."""


@dataclass(slots=True)
class RunResult:
    """What running the entry point gave: the model, its first inputs, and how far the script got."""

    model: nn.Module | None = None
    optimizer_at: str = ""  # `main_pretrain.py:180`
    optimizer: str = ""  # `AdamW`
    args: tuple[Any, ...] | None = None  # the first forward call's arguments; None when never called
    kwargs: dict[str, Any] = field(default_factory=dict)
    stopped: str = ""  # why the script stopped when it did not reach the first forward call
    notes: list[str] = field(default_factory=list)


def copy_repository(root: Path, destination: Path) -> Path:
    """A disposable copy of the repository's code and small files, at `destination/<name>`."""
    target = destination / root.name
    budget = [MAX_COPY_BYTES]

    def ignore(folder: str, names: list[str]) -> list[str]:
        skipped = []
        for name in names:
            path = os.path.join(folder, name)
            if name in SKIPPED_FOLDERS or os.path.islink(path):
                skipped.append(name)
            elif os.path.isfile(path):
                size = os.path.getsize(path)
                if size > MAX_FILE_BYTES or size > budget[0]:
                    skipped.append(name)
                else:
                    budget[0] -= size
        return skipped

    shutil.copytree(root, target, ignore=ignore, symlinks=False)
    return target


def run_to_model(script: Path, argv: tuple[str, ...], copy_root: Path, folder: str = "", package: str = "") -> RunResult:
    """Run `script` (inside `copy_root`, from its `folder`) as `__main__` with `argv` until its
    model's first forward; in a root that is a package, as `python -m package.script` from above it."""
    result = RunResult()
    previous_cwd, previous_argv, previous_path = os.getcwd(), list(sys.argv), list(sys.path)
    os.chdir(copy_root.parent if package else copy_root / folder)
    sys.argv = [str(script), *argv]
    sys.path[:0] = [str(copy_root.parent)] if package else [str(script.parent), str(copy_root)]
    try:
        with _hooks(result, copy_root):
            if package:
                dotted = script.relative_to(copy_root).with_suffix("").as_posix().replace("/", ".")
                runpy.run_module(f"{package}.{dotted}", run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(str(script), run_name="__main__")
        result.stopped = "the script finished without building an optimizer" if result.model is None else \
            "the script finished without calling the model"
    except Reached:
        pass
    except SystemExit as exit_:
        result.stopped = f"the script exited (status {exit_.code})"
    except BaseException as error:  # the repository's script may raise anything
        result.stopped = f"{type(error).__name__}: {str(error)[:300]}"
        result.notes.extend(_repo_location(error, copy_root))
    finally:
        os.chdir(previous_cwd)
        sys.argv, sys.path[:] = previous_argv, previous_path
    return result


def run_code_blocks(blocks: tuple[str, ...], copy_root: Path, *, first_call: bool = True, wanted: str = "",
                    names: tuple[str, ...] = ()) -> RunResult:
    """Run a README's Python blocks one after another in one namespace, as a reader pasting them
    would, until a model is first called (its input) or an optimizer is built; a failing block is
    skipped and noted. Without a call, the outermost module the blocks built is the model. A notebook
    (`first_call` False) runs to its optimizer; `wanted` names the class to take from its namespace.
    Each block is compiled under its name (`names`, root-relative; `README.md#blockN` without one) and
    kept in `linecache`, so tracebacks and the line recorder see its text."""
    import linecache

    result = RunResult()
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(copy_root / "README.md")}
    previous_cwd, previous_path = os.getcwd(), list(sys.path)
    os.chdir(copy_root)
    sys.path[:0] = [str(copy_root)]
    try:
        with _hooks(result, copy_root, first_call=first_call):
            for number, block in enumerate(blocks, start=1):
                filename = str(copy_root / (names[number - 1] if number <= len(names) else f"README.md#block{number}"))
                linecache.cache[filename] = (len(block), None, [line + "\n" for line in block.splitlines()], filename)
                try:
                    exec(compile(block, filename, "exec"), namespace)  # noqa: S102
                except Reached:
                    raise
                except BaseException as error:  # the README's code may raise anything; go on with the next block
                    result.notes.append(f"README code block {number} stopped: {type(error).__name__}: {str(error)[:160]}")
        result.stopped = "the README's code never called a model"
    except Reached:
        pass
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path
    if wanted and (result.model is None or type(result.model).__name__ != wanted):
        instance = next((value for value in namespace.values()
                         if isinstance(value, nn.Module) and type(value).__name__ == wanted), None)
        if instance is not None:
            result.model, result.args, result.kwargs = instance, None, {}
    if result.model is None:
        result.model = _outermost_module(namespace)
    return result


def _outermost_module(namespace: dict[str, Any]) -> nn.Module | None:
    modules = [value for value in namespace.values() if isinstance(value, nn.Module)]
    inner = {id(child) for module in modules for child in module.modules() if child is not module}
    outer = [module for module in modules if id(module) not in inner]
    return outer[-1] if outer else None


@contextlib.contextmanager
def _hooks(result: RunResult, copy_root: Path, *, first_call: bool = False) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_parameters_on_meta())
        stack.enter_context(_watch_optimizers(result, copy_root))
        if first_call:
            stack.enter_context(_first_module_call(result))
        stack.enter_context(stand_ins.neutralised(result.notes))
        yield


@contextlib.contextmanager
def _first_module_call(result: RunResult) -> Iterator[None]:
    """The first module the code calls is the outermost one (no forward is running yet): the model."""
    from torch.nn.modules import module as module_module

    def capture(module: nn.Module, args: tuple[Any, ...]) -> None:  # a global hook sees no keyword arguments
        if result.model is None or result.model is module:
            result.model, result.args = module, args
            raise Reached()

    handle = module_module.register_module_forward_pre_hook(capture)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Every parameter and buffer goes to the meta device as it is registered: shapes, no memory."""
    from torch.nn.modules import module as module_module

    def parameter(module: nn.Module, name: str, param: nn.Parameter | None) -> nn.Parameter | None:
        if param is None or param.device.type == "meta":
            return None
        return nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)

    def buffer(module: nn.Module, name: str, tensor: torch.Tensor | None) -> torch.Tensor | None:
        if tensor is None or tensor.device.type == "meta":
            return None
        return tensor.to("meta")

    def inputs_to_meta(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """A module on meta given the data pipeline's CPU tensors (an EMA teacher called before the
        trained model, a loss): run it on meta too, so the script goes on to the trained model."""
        first = next(module.parameters(), None)
        if first is None or first.device.type != "meta":
            return None
        return tuple(_to_meta(arg) for arg in args)

    handles = [module_module.register_module_parameter_registration_hook(parameter),
               module_module.register_module_buffer_registration_hook(buffer),
               module_module.register_module_forward_pre_hook(inputs_to_meta)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _to_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to("meta") if value.device.type != "meta" else value
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        return type(value)(_to_meta(item) for item in value) if not hasattr(value, "_fields") else value
    if isinstance(value, dict) and len(value) <= 64:
        return {key: _to_meta(item) for key, item in value.items()}
    return value


@contextlib.contextmanager
def _watch_optimizers(result: RunResult, copy_root: Path) -> Iterator[None]:
    """The first optimizer built names the model: the module in the calling frames that holds its
    parameters. A pre-hook on that module then stops the script at its first forward call."""
    original = torch.optim.Optimizer.__init__
    handles: list[Any] = []

    def init(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if result.model is not None:
            return
        model = _owner_of(self, sys._getframe(1))
        if model is None:
            return
        result.model, result.optimizer = model, type(self).__name__
        result.optimizer_at = _caller_location(sys._getframe(1), copy_root)

        def first_call(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            result.args, result.kwargs = args, dict(kwargs)
            raise Reached()

        handles.append(model.register_forward_pre_hook(first_call, with_kwargs=True))

    torch.optim.Optimizer.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.optim.Optimizer.__init__ = original  # type: ignore[method-assign]
        for handle in handles:
            handle.remove()


def _owner_of(optimizer: torch.optim.Optimizer, frame: types.FrameType | None) -> nn.Module | None:
    """The module whose parameters the optimizer got: the smallest module holding all of them, else
    the one holding most (a GAN's `chain(mapping.parameters(), generator.parameters())`)."""
    wanted = {id(p) for group in optimizer.param_groups for p in group["params"]}
    seen: dict[int, nn.Module] = {}
    for _ in range(FRAMES_SEARCHED):
        if frame is None:
            break
        for value in list(frame.f_locals.values()):
            for module in _modules_in(value):
                seen.setdefault(id(module), module)
        frame = frame.f_back
    best: tuple[int, int, int] | None = None
    chosen = None
    for module in seen.values():
        own = {id(p) for p in module.parameters()}
        covered = len(own & wanted)
        if not covered:
            continue
        score = (int(covered == len(wanted)), covered if covered < len(wanted) else 0, -len(own))
        if best is None or score > best:
            best, chosen = score, module
    return _unwrapped(chosen) if chosen is not None else None


def _modules_in(value: Any) -> Iterator[nn.Module]:
    if isinstance(value, nn.Module):
        yield value
    elif isinstance(value, (list, tuple)) and len(value) <= 8:
        yield from (item for item in value if isinstance(item, nn.Module))
    elif isinstance(value, dict) and len(value) <= 8:
        yield from (item for item in value.values() if isinstance(item, nn.Module))


def _unwrapped(module: nn.Module) -> nn.Module:
    """DataParallel/DDP wrappers hold the model as `.module`."""
    inner = getattr(module, "module", None)
    if isinstance(inner, nn.Module) and type(module).__name__ in ("DataParallel", "DistributedDataParallel", "_SingleProcess"):
        return inner
    return module


def _caller_location(frame: types.FrameType | None, copy_root: Path) -> str:
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(copy_root):
            return f"{path.relative_to(copy_root).as_posix()}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _repo_location(error: BaseException, copy_root: Path) -> list[str]:
    traceback = error.__traceback__
    last = ""
    while traceback is not None:
        path = Path(traceback.tb_frame.f_code.co_filename)
        if path.is_relative_to(copy_root):
            last = f"{path.relative_to(copy_root).as_posix()}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return [f"the script stopped at {last}"] if last else []


def model_qualname(model: nn.Module, path: str, copy_root: Path) -> str:
    """`models_mae.MaskedAutoencoderViT`: the module named by the class's file, as the map names it
    (a script's folder on sys.path makes `argparse_model/models.py` importable as plain `models`)."""
    from repo_reader.trace.targets import module_for

    return f"{module_for(path, copy_root)}.{type(model).__qualname__}"


def model_path(model: nn.Module, copy_root: Path, entry_path: str) -> str:
    import inspect

    try:
        file = Path(inspect.getfile(type(model)))
    except (TypeError, OSError):
        return entry_path
    return file.relative_to(copy_root).as_posix() if file.is_relative_to(copy_root) else entry_path


def trace_by_running(request: TraceRequest) -> ModelTrace:
    """The whole run route in the child: copy, run to the optimizer, trace the live instance."""
    from repo_reader.trace.inputs import Candidate
    from repo_reader.trace.tracer import trace_instance

    copy_root = copy_repository(Path(request.root), Path.cwd())
    notebook = ".ipynb" in request.path
    if request.code_blocks:
        result = run_code_blocks(request.code_blocks, copy_root, first_call=not notebook,
                                 wanted=request.class_name if notebook else "", names=request.code_names)
    else:
        result = run_to_model(copy_root / request.path, request.entry_argv, copy_root, request.entry_folder,
                              request.package)
    shown = request.entry_command or f"python {request.path}"
    if result.model is None:
        return _not_reached(request, result, shown, copy_root)
    path = model_path(result.model, copy_root, request.path)
    qualname = model_qualname(result.model, path, copy_root)
    if notebook and type(result.model).__module__ == "__main__":  # defined in a cell: the map's name
        path, qualname = request.path, f"{request.module_name}.{type(result.model).__qualname__}"
    located = replace(request, qualname=qualname, path=path)
    if notebook:
        method = f"built by running the code cells of {request.path.partition('#')[0]} ({len(request.code_blocks)} cells)"
    elif request.code_blocks:
        method = f"built by running the Python code of {request.path} ({len(request.code_blocks)} block(s))"
    else:
        method = f"built by running `{shown}` to its optimizer ({result.optimizer} at {result.optimizer_at})"
    first = None
    if result.args is not None:
        first = Candidate("first-call", "what the script passed to the model's first forward call",
                          list(result.args), dict(result.kwargs))
        method += f"; input from the {'code' if request.code_blocks else 'script'}'s first call of the model"
    else:
        method += f"; the script stopped before calling the model ({result.stopped}), so the input is synthesised"
    return trace_instance(located, copy_root, result.model, first, Construction(method, (), tuple(result.notes)))


def _not_reached(request: TraceRequest, result: RunResult, shown: str, copy_root: Path) -> ModelTrace:
    """No model: say why; a missing package is named with every other one the script needs."""
    from repo_reader.trace.missing import missing_packages, pip_line, vanished_module

    status, exception = TraceStatus.CONSTRUCTOR_ERROR, "RunRoute"
    message = f"running `{shown}` built no optimizer, so no trained model was found: {result.stopped}"
    if result.stopped.startswith("ModuleNotFoundError") and not request.code_blocks:
        missing = missing_packages(copy_root / request.path, copy_root)
        if not missing and (vanished := vanished_module(result.stopped)):
            message = f"running `{shown}` stopped: {vanished}"
        if missing:
            status, exception = TraceStatus.MISSING_PACKAGE, "ModuleNotFoundError"
            listed = ", ".join(f"{name} (imported by {where})" for name, where in missing)
            message = f"running `{shown}` needs packages that are not installed: {listed}; {pip_line([n for n, _ in missing])}"
    return ModelTrace(request.qualname, request.path, status, "", (),
                      Construction(f"by running {request.path}", (), tuple(result.notes)), (), (), (),
                      failure=TraceFailure(message, exception))
