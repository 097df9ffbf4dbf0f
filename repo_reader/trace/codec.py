"""Turn the trace dataclasses into JSON-ready values and back. Standard library only."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, TypeVar

from repo_reader.plain import to_plain  # re-exported: the wire format

__all__ = ["from_plain", "to_plain"]

T = TypeVar("T")

_HINTS: dict[type, dict[str, Any]] = {}


def from_plain(cls: type[T], data: Any) -> T:
    """Rebuild a dataclass of type `cls` from what `to_plain` produced."""
    return typing.cast(T, _decode(cls, data))


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(options[0], data)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in data)
        return tuple(_decode(arg, item) for arg, item in zip(args, data))
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        return {key: _decode(value_hint, item) for key, item in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        return hint(**{k: _decode(hints[k], v) for k, v in data.items() if k in names})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    if hint is float and isinstance(data, int):
        return float(data)
    return data
