"""The recorder's CUDA clock without a GPU: torch.cuda's allocator counters are simulated, so the
bookkeeping that `--device cuda` relies on (inclusive time, each module's peak including its
children's) runs on CPU. The real thing is `test_cuda_reports_time_and_peak_memory` (marked gpu)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from repo_reader.trace.assemble import Locator, module_calls  # noqa: E402
from repo_reader.trace.locations import SourceIndex  # noqa: E402
from repo_reader.trace.recorder import Recorder  # noqa: E402


class FakeAllocator:
    """`max_memory_allocated` and `reset_peak_memory_stats` over bytes the modules claim."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0

    def allocate(self, size: int, keep: int) -> None:
        self.current += size
        self.peak = max(self.peak, self.current)
        self.current -= size - keep

    def reset(self) -> None:
        self.peak = self.current


class Allocates(nn.Module):
    def __init__(self, allocator: FakeAllocator, size: int, keep: int) -> None:
        super().__init__()
        self.allocator, self.size, self.keep = allocator, size, keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.allocator.allocate(self.size, self.keep)
        return x


def test_cuda_clock_nests_time_and_peak_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    allocator = FakeAllocator()
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *args: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *args: allocator.peak)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *args: allocator.reset())
    model = nn.Sequential(Allocates(allocator, 100, keep=10), Allocates(allocator, 50, keep=0))
    recorder = Recorder(model)
    recorder.attach()
    try:
        model(torch.zeros(2, 3))  # the shapes pass: no clock
        assert all(record.time_ms == 0 and record.peak_memory == 0 for record in recorder.records.values())
        allocator.current = 0
        recorder.phase = "timing"
        model(torch.zeros(2, 3))  # the clock alone: order, counts and shapes stay the shapes pass's
    finally:
        recorder.detach()
    assert [(path, record.order, record.calls) for path, record in recorder.records.items()] == [
        ("", 0, 1), ("0", 1, 1), ("1", 2, 1)]
    # 0 peaks at 100 and keeps 10; 1 starts from 10 and peaks at 60; the model's peak is its children's
    assert {path: record.peak_memory for path, record in recorder.records.items()} == {"": 100, "0": 100, "1": 60}
    assert all(record.time_ms > 0 for record in recorder.records.values())
    assert recorder.records[""].time_ms >= recorder.records["0"].time_ms + recorder.records["1"].time_ms
    rows = module_calls(model, recorder.records, {}, Locator(model, SourceIndex(Path("."))), cuda=True)
    assert [(row.path, row.peak_memory) for row in rows] == [("", 100), ("0", 100), ("1", 60)]
    assert all(row.time_ms is not None and row.time_ms >= 0 for row in rows)
    assert not model._forward_hooks and not model[0]._forward_pre_hooks  # hooks removed
