"""`check --dynamic`, child side: run one built model briefly on CPU and judge its health. Imports torch.

Every check restores train/eval mode and removes its hooks in `finally` (torchinfo's discipline).
Results are plain dicts (code, message, location, detail), sent to the parent as JSON.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

Call = Callable[[], Any]
MAX_SCALE_RATIO = 4.0  # weight std × sqrt(fan_in): ~0.58 for PyTorch's default init
OVERFIT_STEPS = 150
OVERFIT_TARGET = 0.2  # the loss must fall below this fraction of its start


class Health:
    def __init__(self, model: nn.Module, run: Call, root: Path, where: Callable[[str], tuple[str, int, int]],
                 described_input: str) -> None:
        self.model, self.run, self.root, self.where = model, run, root, where
        self.input = described_input
        self.found: list[dict[str, Any]] = []

    def report(self, code: str, name: str, severity: str, message: str, module: str, detail: str,
               location: tuple[str, int, int] | None = None) -> None:
        path, line, col = location or self.where(module)
        self.found.append({"code": code, "name": name, "severity": severity, "message": message, "path": path,
                           "line": line, "col": col, "detail": f"{detail}; input {self.input}"})

    def all(self) -> list[dict[str, Any]]:
        modes = {module: module.training for module in self.model.modules()}
        try:
            output = self.registration()
            self.eval_determinism()
            self.gradients()
            self.weight_scale()
            self.classifier_loss(output)
        finally:
            for module, training in modes.items():
                module.training = training
        return self.found

    # -- modules that run but are not registered, registered modules that never run ------------------
    def registration(self) -> Any:
        registered = {id(module): name for name, module in self.model.named_modules()}
        ran: set[int] = set()
        strays: dict[int, tuple[str, tuple[str, int, int] | None]] = {}

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if id(module) in registered:
                ran.add(id(module))
            elif id(module) not in strays:
                strays[id(module)] = (type(module).__name__, self._caller())

        handle = nn.modules.module.register_module_forward_hook(hook)
        try:
            self.model.train()
            output = self.run()
        finally:
            handle.remove()
        for name, module in self.model.named_modules():
            if name and id(module) not in ran and not any(True for _ in module.children()) and \
                    any(True for _ in module.parameters(recurse=False)):
                self.report("RR151", "registered-never-runs", "warning",
                            f"submodule `{name}` ({type(module).__name__}) is registered but never ran in forward",
                            name, "one forward in train mode")
        for kind, location in strays.values():
            self.report("RR152", "runs-unregistered", "error",
                        f"a `{kind}` ran inside forward but is not registered in the model: its parameters are "
                        "never trained or saved", "", "one forward in train mode, with a global module hook", location)
        return output

    def _caller(self) -> tuple[str, int, int] | None:
        root = str(self.root)
        for frame in reversed(traceback.extract_stack()[:-2]):
            if frame.filename.startswith(root):
                return Path(frame.filename).relative_to(self.root).as_posix(), frame.lineno or 1, 1
        return None

    # -- dropout still active after model.eval() ---------------------------------------------------
    def eval_determinism(self) -> None:
        self.model.eval()
        with torch.no_grad():
            torch.manual_seed(1)
            first = _tensors(self.run())
            torch.manual_seed(2)
            second = _tensors(self.run())
        if first and len(first) == len(second) and any(
                a.shape == b.shape and a.is_floating_point() and not torch.allclose(a, b, atol=1e-5, rtol=1e-4)
                for a, b in zip(first, second)):
            self.report("RR251", "eval-not-deterministic", "error",
                        "after model.eval(), two forwards on the same input differ: dropout (or another random "
                        "operation) is still active in evaluation", "", "two forwards in eval mode, same input")

    # -- trainable parameters without gradient, NaN/Inf ---------------------------------------------
    def gradients(self) -> None:
        self.model.train()
        self.model.zero_grad(set_to_none=True)
        outputs = _tensors(self.run())
        floating = [t for t in outputs if t.is_floating_point() and t.requires_grad]
        if any(not torch.isfinite(t).all() for t in outputs if t.is_floating_point()):
            self.report("RR454", "non-finite-values", "error", "the forward pass produces NaN or Inf", "",
                        "one forward in train mode")
        if not floating:
            return
        sum(t.float().mean() for t in floating).backward()  # type: ignore[union-attr]
        for name, parameter in self.model.named_parameters():
            if not parameter.requires_grad:
                continue
            owner = name.rpartition(".")[0]
            if parameter.grad is None:
                self.report("RR153", "no-gradient", "warning",
                            f"trainable parameter `{name}` gets no gradient after forward and backward",
                            owner, "one forward/backward of the mean output in train mode")
            elif not torch.isfinite(parameter.grad).all():
                self.report("RR454", "non-finite-values", "error", f"the gradient of `{name}` has NaN or Inf",
                            owner, "one forward/backward in train mode")
        self.model.zero_grad(set_to_none=True)

    # -- weights far from their fan-in scale -------------------------------------------------------
    def weight_scale(self) -> None:
        for name, module in self.model.named_modules():
            weight = getattr(module, "weight", None)
            if not isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)) or not isinstance(
                    weight, nn.Parameter) or weight.dim() < 2 or weight.numel() < 16:
                continue
            fan_in = weight[0].numel()
            ratio = float(weight.detach().float().std()) * math.sqrt(fan_in)
            if ratio > MAX_SCALE_RATIO or ratio < 1 / (MAX_SCALE_RATIO * 10):
                self.report("RR453", "weight-scale", "warning",
                            f"`{name}.weight` has std {ratio / math.sqrt(fan_in):.4g}, {ratio:.1f}/sqrt(fan_in) for "
                            f"fan-in {fan_in} (default init gives ~0.58/sqrt(fan_in))", name,
                            "weight statistics after construction")

    # -- initial loss of a classifier and overfitting 8 samples ---------------------------------------
    def classifier_loss(self, output: Any) -> None:
        logits = _tensors(output)
        if len(logits) != 1 or logits[0].dim() != 2 or logits[0].shape[1] < 2 or not logits[0].is_floating_point():
            return
        classes = logits[0].shape[1]
        generator = torch.Generator().manual_seed(0)
        labels = torch.randint(0, classes, (logits[0].shape[0],), generator=generator)
        self.model.train()
        with torch.no_grad():
            start = float(nn.functional.cross_entropy(_tensors(self.run())[0].float(), labels))
        expected = math.log(classes)
        if not math.isfinite(start) or abs(start - expected) > max(1.0, 0.5 * expected):
            self.report("RR451", "initial-loss", "warning",
                        f"initial cross-entropy on a random batch is {start:.3g}, far from ln({classes}) = "
                        f"{expected:.3g}: check the last layer's initialisation and the input normalisation", "",
                        "one forward in train mode with random labels")
        self.overfit(labels, start)

    def overfit(self, labels: torch.Tensor, start: float) -> None:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        if not trainable or not math.isfinite(start):
            return
        optimizer = torch.optim.Adam(trainable, lr=1e-3)
        state = {key: value.detach().clone() for key, value in self.model.state_dict().items()}
        self.model.eval()  # overfitting is judged without dropout noise
        loss = start
        try:
            for _ in range(OVERFIT_STEPS):
                optimizer.zero_grad(set_to_none=True)
                value = nn.functional.cross_entropy(_tensors(self.run())[0].float(), labels)
                value.backward()
                optimizer.step()
                loss = float(value)
        finally:
            self.model.load_state_dict(state)
        if not loss < OVERFIT_TARGET * start:
            self.report("RR455", "cannot-overfit", "warning",
                        f"the model cannot overfit {labels.shape[0]} fixed samples: cross-entropy {start:.3g} → "
                        f"{loss:.3g} after {OVERFIT_STEPS} Adam steps", "",
                        f"{OVERFIT_STEPS} Adam steps (lr 1e-3, eval mode) on one fixed batch")


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []
