"""The caches' on-disk format: result types as plain tuples, strings and numbers written with `marshal`
behind a digest, and read back with every value's type checked.

Nothing runs on load (pickle would run whatever a writer of a shared cache folder put there); a bit
flipped anywhere fails the digest before anything is decoded, and an entry whose shape or types are
not what the reader expects is a miss, never an exception or a wrong map. A sequence of records is
stored column by column, so that most columns are checked in one `set(map(type, column))`.
Imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import itertools
import marshal
import operator
import types
import typing
from collections.abc import Callable
from typing import Any

MAGIC = b"repo-reader cache 1\n"
DIGEST_BYTES = 32
PRIMITIVES = (str, int, float, bool, type(None))

Convert = Callable[[Any], Any]


class Mismatch(ValueError):
    """Stored data that is not of the type the reader expects."""


def seal(plain: object) -> bytes:
    """`plain` (what `encoder` gives) as bytes: a header, a digest of the body, the marshalled body."""
    body = marshal.dumps(typing.cast(Any, plain))
    return MAGIC + hashlib.blake2b(body, digest_size=DIGEST_BYTES).digest() + body


def unseal(data: bytes) -> object | None:
    """What `seal` was given, or None when the bytes are not a sealed body or fail the digest."""
    start = len(MAGIC) + DIGEST_BYTES
    if not data.startswith(MAGIC) or len(data) < start:
        return None
    body = data[start:]
    if hashlib.blake2b(body, digest_size=DIGEST_BYTES).digest() != data[len(MAGIC) : start]:
        return None
    try:
        found: object = marshal.loads(body)
    except Exception:  # a body that passed the digest but was written by another Python
        return None
    return found


@functools.cache
def encoder(hint: Any) -> Convert:
    """A function from a value of type `hint` to plain data that marshal writes."""
    return _build(hint, encode=True)


@functools.cache
def decoder(hint: Any) -> Convert:
    """A function from plain data back to a value of type `hint`; `Mismatch` on anything else."""
    return _build(hint, encode=False)


def _build(hint: Any, encode: bool) -> Convert:
    if hint in PRIMITIVES:
        return _identity if encode else _exactly(tuple(_allowed(hint)))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _optional(args, encode)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if _is_record(args[0]):
            return _records(args[0], encode)
        allowed = _primitive_types(args[0])
        if allowed is not None:  # names, source texts: checked in one pass
            return tuple if encode else _primitive_sequence(allowed)
        pairs = _uniform_fixed(args[0])
        if pairs is not None:  # (scope, name) pairs: checked in three passes
            return (lambda value: tuple(map(tuple, value))) if encode else _primitive_tuples(*pairs)
        item = _build(args[0], encode)
        return (lambda value: tuple(map(item, value))) if encode else _sequence(item)
    if origin is tuple:
        return _fixed(tuple(_build(arg, encode) for arg in args), encode)
    if origin is dict:
        key, value = (_build(arg, encode) for arg in args)
        return (lambda data: {key(k): value(v) for k, v in data.items()}) if encode else _mapping(key, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_value if encode else _enum(hint)
    if _is_record(hint):
        return _recursive_record(hint, encode)
    raise TypeError(f"no cache format for {hint!r}")


_BUILDING: set[tuple[Any, bool]] = set()  # records whose converter is being built (a value that holds its own type)


def _recursive_record(hint: Any, encode: bool) -> Convert:
    """A record's converter; inside its own fields (`TracedValue.items` holds TracedValues) it is looked
    up when a value is converted, from the cached `encoder`/`decoder`, instead of built again forever."""
    if (hint, encode) in _BUILDING:
        cached = encoder if encode else decoder
        return lambda value: cached(hint)(value)
    _BUILDING.add((hint, encode))
    try:
        fields = tuple(_build(field_hint, encode) for field_hint in _field_hints(hint))
    finally:
        _BUILDING.discard((hint, encode))
    return _record(hint, fields, encode)


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, tuple) and
                                       hasattr(hint, "_fields"))  # a NamedTuple


@functools.cache
def _field_hints(cls: type) -> tuple[Any, ...]:
    hints = typing.get_type_hints(cls)
    names = _field_names(cls)
    return tuple(hints[name] for name in names)


def _field_names(cls: type) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        return tuple(field.name for field in dataclasses.fields(cls))
    return tuple(getattr(cls, "_fields"))


def _identity(value: Any) -> Any:
    return value


def _exactly(allowed: tuple[type, ...]) -> Convert:
    def check(value: Any) -> Any:
        if type(value) not in allowed:
            raise Mismatch(f"{type(value).__name__} where {allowed} was expected")
        return value
    return check


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _enum(cls: type[enum.Enum]) -> Convert:
    def decode(value: Any) -> Any:
        if type(value) not in (str, int):
            raise Mismatch(f"{type(value).__name__} for {cls.__name__}")
        try:
            return cls(value)
        except ValueError:
            raise Mismatch(f"{value!r} is no {cls.__name__}") from None
    return decode


def _optional(args: tuple[Any, ...], encode: bool) -> Convert:
    others = [arg for arg in args if arg is not type(None)]
    if len(others) != 1:
        raise TypeError(f"no cache format for a union of {args!r}")
    inner = _build(others[0], encode)
    if not encode and others[0] in PRIMITIVES:
        return _exactly((*_allowed(others[0]), type(None)))
    return lambda value: None if value is None else inner(value)


def _primitive_sequence(allowed: set[type]) -> Convert:
    def decode(value: Any) -> Any:
        if type(value) is not tuple or not set(map(type, value)) <= allowed:
            raise Mismatch(f"not a tuple of {allowed}")
        return value
    return decode


def _uniform_fixed(hint: Any) -> tuple[int, set[type]] | None:
    """(length, allowed types) for `tuple[str, str]` and the like: fixed, every place the same primitive."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is not tuple or not args or Ellipsis in args:
        return None
    places = [_primitive_types(arg) for arg in args]
    if places[0] is None or any(place != places[0] for place in places):
        return None
    return len(args), places[0]


def _primitive_tuples(length: int, allowed: set[type]) -> Convert:
    def decode(value: Any) -> Any:
        if type(value) is not tuple or not set(map(type, value)) <= {tuple} or not set(map(len, value)) <= {length} \
                or not set(map(type, itertools.chain.from_iterable(value))) <= allowed:
            raise Mismatch(f"not a tuple of {length}-tuples of {allowed}")
        return value
    return decode


def _sequence(item: Convert) -> Convert:
    def decode(value: Any) -> Any:
        if type(value) is not tuple:
            raise Mismatch(f"{type(value).__name__} where a tuple was expected")
        return tuple(map(item, value))
    return decode


def _fixed(items: tuple[Convert, ...], encode: bool) -> Convert:
    def convert(value: Any) -> Any:
        if not encode and (type(value) is not tuple or len(value) != len(items)):
            raise Mismatch("not a tuple of the right length")
        return tuple(item(part) for item, part in zip(items, value))
    return convert


def _mapping(key: Convert, value: Convert) -> Convert:
    def decode(data: Any) -> Any:
        if type(data) is not dict:
            raise Mismatch(f"{type(data).__name__} where a dict was expected")
        return {key(k): value(v) for k, v in data.items()}
    return decode


def _record(cls: type, fields: tuple[Convert, ...], encode: bool) -> Convert:
    names = _field_names(cls)
    if encode:
        return lambda value: tuple(field(getattr(value, name)) for field, name in zip(fields, names))

    def decode(value: Any) -> Any:
        if type(value) is not tuple or len(value) != len(fields):
            raise Mismatch(f"not a {cls.__name__} record")
        return cls(*(field(part) for field, part in zip(fields, value)))
    return decode


def _records(cls: type, encode: bool) -> Convert:
    """`tuple[Record, ...]` as one tuple per field (columns), each checked at once where it can be."""
    hints = _field_hints(cls)
    columns = tuple(_column(hint, encode) for hint in hints)
    width = len(columns)
    if encode:
        if issubclass(cls, tuple):  # NamedTuples: zip transposes them in C
            return lambda records: tuple(column(part) for column, part in
                                          zip(columns, tuple(zip(*records)) or ((),) * width))
        getters = tuple(operator.attrgetter(name) for name in _field_names(cls))
        return lambda records: tuple(column(tuple(map(get, records))) for column, get in zip(columns, getters))
    build = functools.partial(tuple.__new__, cls) if issubclass(cls, tuple) else None

    def decode(value: Any) -> Any:
        if type(value) is not tuple or len(value) != width:
            raise Mismatch(f"not the columns of {cls.__name__} records")
        decoded = [column(part) for column, part in zip(columns, value)]
        if len({len(part) for part in decoded}) > 1:
            raise Mismatch(f"{cls.__name__} columns of different lengths")
        if build is not None:
            return tuple(map(build, zip(*decoded)))
        return tuple(map(cls, *decoded))
    return decode


def _column(hint: Any, encode: bool) -> Convert:
    """One field's values, all at once."""
    allowed = _primitive_types(hint)
    if allowed is not None:
        return _identity if encode else _primitive_sequence(allowed)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = _primitive_types(args[0])
        if inner is not None:  # a tuple of names per record: all the records' names checked at once
            return (lambda column: tuple(map(tuple, column))) if encode else _nested_primitives(inner)
        rows = _flat_record(args[0])
        if rows is not None:  # a few small records per record (a function's parameters): as rows
            return _nested_rows(args[0], rows, encode)
        pairs = _uniform_fixed(args[0])
        if pairs is not None:
            return (lambda column: tuple(tuple(map(tuple, value)) for value in column)) if encode \
                else _nested_tuples(*pairs)
    item = _build(hint, encode)
    if encode:
        return lambda column: tuple(map(item, column))
    return _sequence(item)


def _nested_primitives(allowed: set[type]) -> Convert:
    def decode(column: Any) -> Any:
        if type(column) is not tuple or not set(map(type, column)) <= {tuple} \
                or not set(map(type, itertools.chain.from_iterable(column))) <= allowed:
            raise Mismatch(f"a column that is not all tuples of {allowed}")
        return column
    return decode


def _flat_record(hint: Any) -> list[set[type]] | None:
    """The allowed types of each field of a NamedTuple whose fields are all primitive; None otherwise."""
    if not (_is_record(hint) and issubclass(hint, tuple)):
        return None
    places = [_primitive_types(field) for field in _field_hints(hint)]
    return None if any(place is None for place in places) else places  # type: ignore[return-value]


def _nested_rows(cls: type, places: list[set[type]], encode: bool) -> Convert:
    """A column whose values are tuples of flat records, stored as rows; every field checked at once."""
    if encode:
        return lambda column: tuple(tuple(map(tuple, value)) for value in column)
    build = functools.partial(tuple.__new__, cls)

    def decode(column: Any) -> Any:
        if type(column) is not tuple or not set(map(type, column)) <= {tuple}:
            raise Mismatch(f"not a column of {cls.__name__} rows")
        rows = tuple(itertools.chain.from_iterable(column))
        if not set(map(type, rows)) <= {tuple} or not set(map(len, rows)) <= {len(places)}:
            raise Mismatch(f"not {cls.__name__} rows")
        for index, allowed in enumerate(places):
            if not set(map(type, map(operator.itemgetter(index), rows))) <= allowed:
                raise Mismatch(f"a {cls.__name__} field that is not {allowed}")
        return tuple(tuple(map(build, value)) for value in column)
    return decode


def _nested_tuples(length: int, allowed: set[type]) -> Convert:
    def decode(column: Any) -> Any:
        if type(column) is not tuple or not set(map(type, column)) <= {tuple}:
            raise Mismatch("not a column of tuples")
        items = tuple(itertools.chain.from_iterable(column))
        if not set(map(type, items)) <= {tuple} or not set(map(len, items)) <= {length} \
                or not set(map(type, itertools.chain.from_iterable(items))) <= allowed:
            raise Mismatch(f"not a column of tuples of {length}-tuples of {allowed}")
        return column
    return decode


def _primitive_types(hint: Any) -> set[type] | None:
    """The exact types a primitive or optional primitive hint allows; None for anything else."""
    if hint in PRIMITIVES:
        return _allowed(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if set(args) <= set(PRIMITIVES):
            return set().union(*(_allowed(arg) for arg in args))
    return None


def _allowed(hint: type) -> set[type]:
    """The exact types stored for a primitive hint (a float field may hold an int, as Python allows)."""
    return {float, int} if hint is float else {hint}
