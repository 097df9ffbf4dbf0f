"""Names for sizes, the way experts write shape comments: `B` for the input's batch size, `T` for the
length of a (B, T) token input, and every integer of the model's config object by its field name
(`n_embd`). Integers set on the model itself are left out: `__init__` often counts with them as it
builds (`self.in_channels` ends at the last stage's width) and they would name the wrong dimension.

Child side: imports torch. The parent decides which dimension shows which name (`render/shape_text.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from repo_reader.model import SizeName

_CONFIG_ATTRIBUTES = ("config", "cfg", "args", "params", "hparams", "model_args", "hp")


def size_names(model: nn.Module, args: list[Any], kwargs: dict[str, Any]) -> tuple[SizeName, ...]:
    """The input's sizes first (they win a tie), then the config's integers in declaration order."""
    found = _input_names(args, kwargs)
    for attribute in _CONFIG_ATTRIBUTES:
        config = getattr(model, attribute, None)
        for name, value in _integer_fields(config):
            found.append(SizeName(name, value, f"{attribute}.{name}"))
    return tuple(dict.fromkeys(found))


def _input_names(args: list[Any], kwargs: dict[str, Any]) -> list[SizeName]:
    first = next((value for value in [*args, *kwargs.values()] if isinstance(value, torch.Tensor)), None)
    if first is None or first.dim() == 0:
        return []
    names = [SizeName("B", int(first.shape[0]), "batch size of the input", leading_only=True)]
    if first.dim() == 2 and not first.dtype.is_floating_point:  # token ids (B, T)
        names.append(SizeName("T", int(first.shape[1]), "sequence length of the input"))
    return [name for name in names if name.size > 1]


def _integer_fields(config: Any) -> list[tuple[str, int]]:
    if config is None or isinstance(config, (nn.Module, torch.Tensor, str, bytes)):
        return []
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        items = [(f.name, getattr(config, f.name, None)) for f in dataclasses.fields(config)]
    elif isinstance(config, Mapping):
        items = [(str(key), value) for key, value in config.items()]
    elif hasattr(config, "__dict__") and not callable(config):
        items = list(vars(config).items())
    else:
        return []
    return [(name, value) for name, value in items if _is_size(value) and name.isidentifier()]


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 1
