"""Describe what flows through a module (tensors, nested containers, ModelOutput) as TracedValue.

Child side: imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from repo_reader.model import TracedValue

_MAX_ITEMS = 32
_MAX_DEPTH = 5


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe(value: Any, depth: int = 0) -> TracedValue:
    """A shape-level description of `value`; containers recurse up to a fixed depth and width."""
    if isinstance(value, torch.Tensor):
        return TracedValue(
            "tensor", tuple(int(size) for size in value.shape), dtype_name(value.dtype),
            _device_name(value),
        )
    if value is None:
        return TracedValue("none")
    if isinstance(value, (bool, int, float, str)):
        return TracedValue("scalar", text=_short(repr(value)))
    if depth >= _MAX_DEPTH:
        return TracedValue("other", text=type(value).__name__)
    if isinstance(value, Mapping):
        plain = type(value) is dict
        items = [(str(key), describe(item, depth + 1)) for key, item in value.items()]
        return TracedValue("dict" if plain else "dataclass", items=tuple(items[:_MAX_ITEMS]),
                           text="" if plain else type(value).__name__)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [(f.name, describe(getattr(value, f.name), depth + 1))
                 for f in dataclasses.fields(value)]
        return TracedValue("dataclass", items=tuple(items[:_MAX_ITEMS]), text=type(value).__name__)
    if isinstance(value, (tuple, list)):
        items = [(str(index), describe(item, depth + 1)) for index, item in enumerate(value)]
        kind = "list" if isinstance(value, list) else "tuple"
        return TracedValue(kind, items=tuple(items[:_MAX_ITEMS]), text=_container_text(value))
    return TracedValue("other", text=type(value).__name__)


def describe_call(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> TracedValue:
    """The inputs of one call: positional arguments keyed `0`, `1`…, keywords by name."""
    items = [(str(index), describe(arg)) for index, arg in enumerate(args)]
    items += [(name, describe(arg)) for name, arg in kwargs.items()]
    return TracedValue("args", items=tuple(items[:_MAX_ITEMS]))


def _device_name(tensor: torch.Tensor) -> str:
    if type(tensor).__name__ == "FakeTensor":
        return "fake"
    return tensor.device.type


def _container_text(value: tuple[Any, ...] | list[Any]) -> str:
    name = type(value).__name__
    return "" if name in ("tuple", "list") else name


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
