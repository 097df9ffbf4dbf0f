"""Child-process isolation: memory limit, no bytecode, no network, intercepted weight downloads.

Child side. `prepare_process` runs before torch is imported; `intercept_downloads` after.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, TextIO

OFFLINE_ENVIRONMENT = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TORCH_HOME": "",  # filled in with the child's temporary folder
}

intercepted: list[str] = []  # one note per download the repo's code attempted


class NetworkBlocked(OSError):
    """Raised instead of opening a connection: trace runs offline."""


def prepare_process(memory_limit: int) -> TextIO:
    """Limit the address space, stop bytecode writes and network, move the repo's prints to stderr.

    Returns the real stdout, on which only the child's JSON result is written.
    """
    sys.dont_write_bytecode = True
    os.environ.update({k: v for k, v in OFFLINE_ENVIRONMENT.items() if v})
    if memory_limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    result_stream = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse  # type: ignore[assignment]
    return result_stream


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkBlocked("network access is blocked while tracing (repo-reader runs offline)")


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
