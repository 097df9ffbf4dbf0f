"""Findings about modules not connected to this forward: never called, plain containers,
no gradient, shared parameters and modules. Worded as "not exercised by this input/mode".

Child side: imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch import nn

from repo_reader.model import FlagKind, Location, TraceFlag
from repo_reader.trace.recorder import CallRecord

Locate = Callable[[str], Location | None]  # module path → where it is assigned
LISTED = 6  # names a flag lists before it summarises the rest


def call_flags(model: nn.Module, records: dict[str, CallRecord], locate: Locate,
               modes: tuple[str, ...], used: frozenset[int] = frozenset()) -> list[TraceFlag]:
    """Submodules that did not run in some mode; only the outermost of a silent subtree.
    A ModuleList/ModuleDict is never called itself: it counts as run when a child ran. A module whose
    weights the forward uses directly (`F.linear(x, self.proj.weight)`; `used`: ids of the parameters
    torch functions received) counts as run."""
    flags = []
    silent: list[str] = []
    for path, record in records.items():
        if not path or any(path.startswith(parent + ".") for parent in silent):
            continue
        ran = _modes_ran(model, path, records)
        if _used_by_torch_parent(model, path, records):
            ran = ran | set(records[path.rpartition(".")[0]].modes)
        weights = [id(p) for p in model.get_submodule(path).parameters()]
        if weights and all(weight in used for weight in weights):
            continue
        missing = [mode for mode in modes if mode not in ran]
        if not missing:
            continue
        if len(missing) == len(modes):
            silent.append(path)
            message = f"registered but not called in {' or '.join(modes)} mode with this input (not exercised by this input/mode)"
            flags.append(TraceFlag(FlagKind.NEVER_CALLED, path, locate(path), message))
        else:
            message = f"called in {', '.join(sorted(ran))} mode only; not exercised in {', '.join(missing)} mode"
            flags.append(TraceFlag(FlagKind.MODE_ONLY, path, locate(path), message))
    return flags


def _used_by_torch_parent(model: nn.Module, path: str, records: dict[str, CallRecord]) -> bool:
    """torch's own layers use some children's weights without calling them
    (`MultiheadAttention.out_proj`): such a child counts as run when its parent ran."""
    parent_path = path.rpartition(".")[0]
    parent = model.get_submodule(parent_path)
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    return (type(parent).__module__.startswith("torch.nn.") and not isinstance(parent, containers)
            and parent_path in records and bool(records[parent_path].modes))


def plain_container_flags(model: nn.Module, locate_attribute: Callable[[nn.Module, str, str], Location | None]) -> list[TraceFlag]:
    """Layers kept in a list/dict/tuple attribute: not registered, so `.parameters()`, `.to()`
    and `state_dict` do not see them."""
    flags = []
    for path, module in model.named_modules():
        for name, value in vars(module).items():
            if name.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            items = value.values() if isinstance(value, dict) else value
            layers = [item for item in items if isinstance(item, nn.Module)]
            if not layers:
                continue
            dotted = f"{path}.{name}" if path else name
            kind = type(value).__name__
            message = (f"{len(layers)} layer(s) held in a plain Python {kind}: invisible to .parameters(), "
                       f".to() and state_dict (use nn.Module{'Dict' if kind == 'dict' else 'List'})")
            flags.append(TraceFlag(FlagKind.PLAIN_CONTAINER, dotted, locate_attribute(module, path, name), message))
    return flags


def shared_flags(model: nn.Module, records: dict[str, CallRecord], locate: Locate) -> list[TraceFlag]:
    """Parameters tied between different modules, and one module registered under several paths."""
    flags = []
    module_groups = _groups(model.named_modules(remove_duplicate=False))
    aliases = {path for paths in module_groups for path in paths[1:]}
    for names in _groups(model.named_parameters(remove_duplicate=False)):
        owners = [name.rpartition(".")[0] for name in names]
        if all(owner in aliases for owner in owners[1:]):
            continue  # the owning module itself is shared: reported once below
        message = f"one Parameter under {len(names)} names ({listed(names)}): tied/shared, counted once"
        flags.append(TraceFlag(FlagKind.SHARED_PARAMETER, names[0], locate(owners[0]), message))
    for paths in module_groups:
        if _weightless(model.get_submodule(paths[0])):
            continue  # one stateless GELU or Dropout used everywhere shares nothing
        calls = records[paths[0]].calls if paths[0] in records else 0
        shown = f"as {' and '.join(paths)}" if len(paths) == 2 else f"under {len(paths)} names ({listed(paths)})"
        message = f"one module registered {shown}; ran {calls} time(s) per forward"
        flags.append(TraceFlag(FlagKind.SHARED_MODULE, paths[0], locate(paths[0]), message))
    return flags


def repeated_call_flags(records: dict[str, CallRecord], locate: Locate, model: nn.Module | None = None) -> list[TraceFlag]:
    """A module with weights called more than once per forward (its weights reused); outermost only.
    A weightless one (an activation, Dropout) called in every block reuses nothing."""
    flags = []
    repeated: list[str] = []
    seen: set[int] = set()  # aliases of one module share one record
    for path, record in records.items():
        if not path or record.calls <= 1 or id(record) in seen or any(path.startswith(p + ".") for p in repeated):
            continue
        if model is not None and _weightless(model.get_submodule(path)):
            continue
        seen.add(id(record))
        repeated.append(path)
        message = f"called {record.calls} times in one forward: the same weights are reused each time"
        flags.append(TraceFlag(FlagKind.SHARED_MODULE, path, locate(path), message))
    return flags


def listed(names: list[str], shown: int = LISTED) -> str:
    """`a, b, c` or, past `shown` names, `a, b, c, … and 140 more`: a flag stays one readable line."""
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f", … and {len(names) - shown} more"


def _weightless(module: nn.Module) -> bool:
    return next(module.parameters(), None) is None and next(module.buffers(), None) is None


def gradient_flags(model: nn.Module, outputs: Any, locate: Locate, ran: set[str]) -> list[TraceFlag]:
    """Trainable parameters of modules that ran but that no autograd path from the outputs
    reaches (found by walking `grad_fn`, without a backward; works on meta)."""
    reached = _reachable_parameters(outputs)
    flags = []
    for name, parameter in model.named_parameters():
        owner = name.rpartition(".")[0]
        if parameter.requires_grad and id(parameter) not in reached and owner in ran:
            message = "trainable but gets no gradient from this forward's outputs (detached or unused path)"
            flags.append(TraceFlag(FlagKind.NO_GRADIENT, name, locate(name), message))
    return flags


def _reachable_parameters(outputs: Any) -> set[int]:
    stack = [tensor.grad_fn for tensor in _tensors(outputs) if tensor.grad_fn is not None]
    leaves = {id(tensor) for tensor in _tensors(outputs) if tensor.requires_grad and tensor.grad_fn is None}
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return leaves


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for name in value.__dataclass_fields__ for t in _tensors(getattr(value, name))]
    return []


def _groups(named: Any) -> list[list[str]]:
    by_object: dict[int, list[str]] = {}
    for name, item in named:
        by_object.setdefault(id(item), []).append(name)
    return [names for names in by_object.values() if len(names) > 1]


def _modes_ran(model: nn.Module, path: str, records: dict[str, CallRecord]) -> set[str]:
    if not isinstance(model.get_submodule(path), (nn.ModuleList, nn.ModuleDict)):
        return set(records[path].modes)
    prefix = path + "."
    return {mode for child, record in records.items() if child.startswith(prefix) for mode in record.modes}


class ParameterUse(TorchFunctionMode):
    """Records which parameters torch functions receive during a forward: a weight used directly
    (`F.linear(x, self.proj.weight)`) is used even though its module is never called."""

    def __init__(self) -> None:
        super().__init__()
        self.used: set[int] = set()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        for value in (*args, *(kwargs or {}).values()):
            if isinstance(value, nn.Parameter):
                self.used.add(id(value))
        return func(*args, **(kwargs or {}))
