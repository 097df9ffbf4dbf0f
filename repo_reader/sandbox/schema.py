"""Strict decoding of a child's JSON result into the parent's frozen dataclasses.

Unlike `trace.codec.from_plain` (for the parent's own requests), it trusts nothing: every key, type
and enum value is checked, and anything else raises `SchemaError` naming where. Standard library only.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")

_HINTS: dict[type, dict[str, Any]] = {}


class SchemaError(ValueError):
    """The data does not have the declared shape; the message says where (`models[0].status`)."""


def decode(cls: type[T], data: Any) -> T:
    """`cls` rebuilt from JSON-ready `data`, or SchemaError."""
    try:
        return typing.cast(T, _decode(cls, data, "result"))
    except RecursionError:
        raise SchemaError("result: nested too deeply") from None


def _decode(hint: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(hint), data, where)
    if origin is tuple:
        return _tuple(typing.get_args(hint), data, where)
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        items = _expect(data, dict, "an object", where)
        return {_expect(key, str, "a string key", where): _decode(value_hint, value, f"{where}.{key}")
                for key, value in items.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, data, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            raise SchemaError(f"{where}: {_shown(data)} is not a {hint.__name__}") from None
    return _scalar(hint, data, where)


def _union(options: tuple[Any, ...], data: Any, where: str) -> Any:
    if data is None and type(None) in options:
        return None
    errors = []
    for option in (option for option in options if option is not type(None)):
        try:
            return _decode(option, data, where)
        except SchemaError as error:
            errors.append(str(error))
    raise SchemaError(errors[0] if len(errors) == 1 else f"{where}: {_shown(data)} matches none of its types")


def _tuple(args: tuple[Any, ...], data: Any, where: str) -> tuple[Any, ...]:
    items = _expect(data, list, "a list", where)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], item, f"{where}[{index}]") for index, item in enumerate(items))
    if len(items) != len(args):
        raise SchemaError(f"{where}: expected {len(args)} items, got {len(items)}")
    return tuple(_decode(arg, item, f"{where}[{index}]") for index, (arg, item) in enumerate(zip(args, items)))


def _dataclass(cls: type, data: Any, where: str) -> Any:
    fields = {field.name: field for field in dataclasses.fields(cls)}
    items = _expect(data, dict, f"a {cls.__name__} object", where)
    unknown = sorted(set(items) - set(fields))
    if unknown:
        raise SchemaError(f"{where}: unknown field {unknown[0]!r} in {cls.__name__}")
    missing = [name for name, field in fields.items() if name not in items and _required(field)]
    if missing:
        raise SchemaError(f"{where}: {cls.__name__} lacks {missing[0]!r}")
    hints = _hints(cls)
    return cls(**{name: _decode(hints[name], value, f"{where}.{name}") for name, value in items.items()})


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _scalar(hint: Any, data: Any, where: str) -> Any:
    if hint is bool:
        return _expect(data, bool, "true or false", where)
    if hint is int:
        return _expect(data, int, "an integer", where)
    if hint is float:
        return float(_expect(data, (int, float), "a number", where))
    if hint is str:
        return _expect(data, str, "a string", where)
    if hint is type(None) and data is None:
        return None
    raise SchemaError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {type(data).__name__}")


def _expect(data: Any, kind: type | tuple[type, ...], described: str, where: str) -> Any:
    if not isinstance(data, kind) or (kind is not bool and isinstance(data, bool)):
        raise SchemaError(f"{where}: expected {described}, got {type(data).__name__}")
    return data


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _shown(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 40 else text[:39] + "…"
