"""Count FLOPs per module with the formulas of `torch.utils.flop_counter`, attributed by call stack.

Child side: imports torch. Adds the CPU fused attention kernel that FlopCounterMode leaves out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry, sdpa_flop_count

_aten = torch.ops.aten


def _cpu_flash_attention_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    return int(sdpa_flop_count(query.shape, key.shape, value.shape))


_EXTRA: dict[Any, Any] = {_aten._scaled_dot_product_flash_attention_for_cpu: _cpu_flash_attention_flops}


class ModuleFlopCounter(TorchDispatchMode):
    """Adds each op's FLOPs to every module path on `stack` (inclusive counts) and to `total`."""

    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.by_module: defaultdict[str, int] = defaultdict(int)
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
        elif packet in _EXTRA:
            flops = _EXTRA[packet](*args, **kwargs)
        else:
            return out
        self.total += flops
        for path in set(self.stack):
            self.by_module[path] += flops
        return out
