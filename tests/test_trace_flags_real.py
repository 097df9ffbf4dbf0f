"""Trace flags on shapes of real models: blocks iterated in a loop, one stateless activation and
Dropout used in every block, a projection whose weight the forward uses through `F.linear`."""

from __future__ import annotations

from pathlib import Path

from repo_reader.model import TraceStatus
from repo_reader.trace.api import TraceOptions, trace_repository

NET = '''import torch
from torch import nn
from torch.nn import functional as F


class Net(nn.Module):
    def __init__(self, dim=8, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])
        self.act = nn.GELU()
        self.drop = nn.Dropout(0.1)
        self.proj = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, 2)
        self.unused = nn.Linear(dim, dim)

    def forward(self, x):
        for blk in self.blocks:
            x = self.drop(self.act(blk(x)))
        x = F.linear(x, self.proj.weight, self.proj.bias)
        return self.head(self.head.weight.new_ones(1) * x)
'''


def test_only_the_really_unused_module_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(NET)
    (model,) = trace_repository(tmp_path, TraceOptions(use_cache=False, jobs=1, route="static")).models
    assert model.status is TraceStatus.OK
    assert [(flag.kind.value, flag.module) for flag in model.flags] == [("never-called", "unused")]
