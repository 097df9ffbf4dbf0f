"""Result dataclasses as plain JSON-ready values; shared by the trace child's wire format and the renderers.

Imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any


def to_plain(value: Any, leaf: Callable[[Any], Any] | None = None) -> Any:
    """Dataclasses → dicts, tuples → lists, enums → their value, recursively. `leaf` may return a
    special form for some values (anything but None), which is used as it is."""
    if leaf is not None:
        special = leaf(value)
        if special is not None:
            return special
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name), leaf) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_plain(item, leaf) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item, leaf) for key, item in value.items()}
    return value
