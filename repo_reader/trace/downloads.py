"""Offline stand-ins for the downloads a model's code attempts: torch.hub weights become random
weights, Hugging Face `from_pretrained` builds from the default config. Child side, after torch is
imported (the process itself is prepared by `repo_reader.sandbox.child`).
"""

from __future__ import annotations

import sys
from typing import Any

from repo_reader.sandbox.child import NetworkBlocked

intercepted: list[str] = []  # one note per download the repo's code attempted


class _NoWeights(dict[str, Any]):
    """Stands in for a downloaded state dict; `load_state_dict` given it keeps the random weights."""


def intercept_downloads() -> None:
    """Replace torch.hub downloads with random weights (noted in `intercepted`)."""
    import torch
    import torch.hub
    from torch import nn

    def load_state_dict_from_url(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        intercepted.append(f"pretrained weights not downloaded ({url}): random weights used")
        return _NoWeights()

    def download_url_to_file(url: str, *args: Any, **kwargs: Any) -> None:
        raise NetworkBlocked(f"download of {url} intercepted (trace runs offline)")

    def hub_load(repo: str, model: str, *args: Any, **kwargs: Any) -> Any:
        raise NetworkBlocked(f"torch.hub.load({repo!r}, {model!r}) fetches the hub repository's code from the "
                             "network: intercepted (trace runs offline), and no random-weight stand-in exists")

    original_load_state_dict = nn.Module.load_state_dict

    def load_state_dict(self: nn.Module, state_dict: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(state_dict, _NoWeights):
            return nn.modules.module._IncompatibleKeys([], [])
        return original_load_state_dict(self, state_dict, *args, **kwargs)

    torch.hub.load_state_dict_from_url = load_state_dict_from_url
    torch.hub.download_url_to_file = download_url_to_file
    torch.hub.load = hub_load
    nn.Module.load_state_dict = load_state_dict  # type: ignore[method-assign]
    _intercept_torchvision(load_state_dict_from_url)


def _intercept_torchvision(replacement: Any) -> None:
    """torchvision binds `load_state_dict_from_url` by name in its weight helpers."""
    module = sys.modules.get("torchvision.models._api")
    if module is not None and hasattr(module, "load_state_dict_from_url"):
        module.load_state_dict_from_url = replacement


def intercept_from_pretrained() -> None:
    """Hugging Face `from_pretrained` → the class built from its default config (random weights)."""
    transformers = sys.modules.get("transformers")
    if transformers is None:
        return
    base = getattr(transformers, "PreTrainedModel", None)
    if base is None:
        return

    def from_pretrained(cls: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
        intercepted.append(f"{cls.__name__}.from_pretrained({name!r}) not downloaded: random weights from the default config")
        try:
            config = cls.config_class.from_pretrained(name)
        except Exception:
            config = cls.config_class()
        return cls(config)

    base.from_pretrained = classmethod(from_pretrained)
