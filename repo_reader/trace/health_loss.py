"""`check --dynamic`, child side: evaluate each additive term of the training loop's loss on one
synthesized batch and compare their scales. Imports torch; runs the slice `loss_slice` found.
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

MAX_TERM_RATIO = 100.0
Targets = Callable[[torch.Tensor], torch.Tensor]


def term_scales(model: nn.Module, inputs: list[Any], loss: dict[str, Any], defaults: tuple[tuple[str, str], ...],
                root: Path) -> tuple[dict[str, float], str] | None:
    """|mean| of each loss term and how the targets were made, or None when the slice does not run."""
    namespace = _namespace(model, loss, defaults, root)
    if namespace is None:
        return None
    bound = dict(zip(loss["model_inputs"], inputs))
    with torch.no_grad():
        output = _first_tensor(model(*inputs))
        if output is None:
            return None
        for how, make in _target_ladder(output):
            scope = dict(namespace)
            scope.update({name: bound[name] if name in bound else make(output) for name in loss["batch"]})
            scales = _run_body(loss, scope)
            if scales is not None:
                return scales, how
    return None


def ratio(scales: dict[str, float]) -> float:
    """max/min of the non-zero term scales (1 when fewer than two terms are non-zero)."""
    nonzero = [value for value in scales.values() if value > 0]
    return max(nonzero) / min(nonzero) if len(nonzero) >= 2 else 1.0


def _namespace(model: nn.Module, loss: dict[str, Any], defaults: tuple[tuple[str, str], ...],
               root: Path) -> dict[str, Any] | None:
    path = str(root / loss["path"])
    namespace: dict[str, Any] = {"__name__": "__repo_reader_loss__", "__file__": path, "__builtins__": builtins}
    for source in loss["preamble"]:
        try:
            exec(compile(source, path, "exec"), namespace)  # imports and definitions only, never `main()`
        except (Exception, SystemExit):
            continue
    options = SimpleNamespace(**{dest: json.loads(value) for dest, value in defaults})
    namespace.update({name: options for name in loss["namespaces"]})
    namespace.update({name: model for name in loss["models"]})
    try:
        for source in loss["setup"]:
            exec(compile(source, path, "exec"), namespace)
    except (Exception, SystemExit):
        return None
    return namespace


def _target_ladder(output: torch.Tensor) -> Iterator[tuple[str, Targets]]:
    """Targets for the names the model does not read: class indices first, then values like the output."""
    if output.dim() >= 2 and output.shape[-1] >= 2:
        classes = output.shape[-1]
        generator = torch.Generator().manual_seed(0)
        yield (f"class indices in [0, {classes})",
               lambda out: torch.randint(0, classes, out.shape[:-1], generator=generator))
    yield "random values shaped like the output", lambda out: torch.randn(out.shape, dtype=out.dtype)


def _run_body(loss: dict[str, Any], scope: dict[str, Any]) -> dict[str, float] | None:
    path = loss["path"]
    try:
        for source in loss["body"]:
            exec(compile(source, path, "exec"), scope)
        values = {term: eval(compile(term, path, "eval"), scope) for term in loss["terms"]}
    except (Exception, SystemExit):
        return None
    scales = {term: _magnitude(value) for term, value in values.items()}
    if any(scale is None or not math.isfinite(scale) for scale in scales.values()):
        return None
    return {term: float(scale) for term, scale in scales.items() if scale is not None}


def _magnitude(value: Any) -> float | None:
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel():
        return float(value.detach().float().abs().mean())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(float(value))
    return None


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return next((t for t in map(_first_tensor, items) if t is not None), None)
