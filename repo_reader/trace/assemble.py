"""Freeze the recorder's accumulators into ModuleCall rows, with parameters and locations.

Child side: imports torch.
"""

from __future__ import annotations

from torch import nn

from repo_reader.model import Location, ModuleCall
from repo_reader.trace.locations import SourceIndex
from repo_reader.trace.recorder import CallRecord

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


class Locator:
    """Module path → where its parent assigns it; torch's containers pass their own down. Where it
    was called is what ran: the recorder's call site."""

    def __init__(self, model: nn.Module, index: SourceIndex) -> None:
        self.model = model
        self.index = index
        self._cache: dict[str, Location | None] = {}

    def attribute(self, owner: nn.Module, owner_path: str, name: str) -> Location | None:
        return self.index.assigned(type(owner), name)

    def parameter(self, name: str) -> Location | None:
        """Where `owner.weight`'s owner assigns it; for a bare nn.Parameter, the `self.x = ...` line."""
        owner_path, _, attribute = name.rpartition(".")
        owner = self.model.get_submodule(owner_path)
        return self.index.assigned(type(owner), attribute) or self.defined(owner_path)

    def defined(self, path: str) -> Location | None:
        if path not in self._cache:
            self._cache[path] = self._compute(path)
        return self._cache[path]

    def _compute(self, path: str) -> Location | None:
        if not path:
            return self.index.class_location(type(self.model))
        parent_path, _, name = path.rpartition(".")
        parent = self.model.get_submodule(parent_path)
        if isinstance(parent, _CONTAINERS) and type(parent).__module__.startswith("torch."):
            return self.defined(parent_path)
        return self.index.assigned(type(parent), name)


def module_calls(
    model: nn.Module, records: dict[str, CallRecord], flops: dict[str, int], locator: Locator, *, cuda: bool
) -> tuple[ModuleCall, ...]:
    rows = []
    for path, module in model.named_modules(remove_duplicate=False):
        record = records.get(path, CallRecord())
        unique = {id(p): p for p in module.parameters()}
        total = sum(p.numel() for p in unique.values())
        trainable = sum(p.numel() for p in unique.values() if p.requires_grad)
        own = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(ModuleCall(
            path=path, class_name=type(module).__name__,
            class_qualname=f"{type(module).__module__}.{type(module).__qualname__}",
            depth=path.count(".") + 1 if path else 0, order=record.order, calls=record.calls,
            inputs=record.inputs, outputs=record.outputs, own_params=own, total_params=total,
            trainable_params=trainable, flops=flops.get(path, 0), macs=flops.get(path, 0) // 2,
            defined_at=locator.defined(path), called_at=record.call_site, modes=tuple(sorted(record.modes)),
            time_ms=round(record.time_ms, 3) if cuda else None,
            peak_memory=record.peak_memory if cuda else None,
        ))
    return tuple(rows)
