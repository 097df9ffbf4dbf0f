"""`check --dynamic`, child side: run one built model briefly on CPU and judge its health. Imports torch.

Every check restores train/eval mode and removes its hooks in `finally` (torchinfo's discipline).
Results are plain dicts (code, message, location, detail), sent to the parent as JSON.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repo_reader.lint.dynamic import dynamic_check

Call = Callable[[], Any]
MAX_SCALE_RATIO = 4.0  # weight std × sqrt(fan_in): ~0.58 for PyTorch's default init
FIXED_SAMPLES = 8  # the batch the initial loss, the loss terms and the overfitting test use
OVERFIT_STEPS = 100  # at most; the test stops as soon as the loss reaches the target
OVERFIT_RATES = (1e-2, 1e-3)  # a fast rate first; the slow one only for models the fast one destabilises
OVERFIT_TARGET = 0.2  # the loss must fall below this fraction of its start
OVERFIT_BUDGET_S = 20.0  # wall time for the overfitting test; a slower model is not judged (the child has 60 s)


@dataclass(frozen=True, slots=True)
class Batch:
    """One fixed synthesized input: positional and keyword arguments of `forward`, and its description."""

    args: list[Any]
    kwargs: dict[str, Any]
    described: str

    def size(self) -> int:
        first = next((t for t in _tensors([self.args, self.kwargs]) if t.dim()), None)
        return int(first.shape[0]) if first is not None else 1


class Health:
    """The checks on one built model: `run` calls it on the input that worked (batch 2), `fixed` is
    the same input with FIXED_SAMPLES rows, for the losses and the overfitting test."""

    def __init__(self, model: nn.Module, run: Call, root: Path, where: Callable[[str], tuple[str, int, int]],
                 described_input: str, fixed: Batch | None = None) -> None:
        self.model, self.run, self.root, self.where = model, run, root, where
        self.input = described_input
        self.fixed = fixed or Batch([], {}, described_input)
        self.run_fixed: Call = (lambda: model(*fixed.args, **fixed.kwargs)) if fixed else run
        self.found: list[dict[str, Any]] = []
        self.not_judged: list[str] = []  # checks given up on, with why (shown as warnings)

    def report(self, code: str, message: str, module: str, detail: str,
               location: tuple[str, int, int] | None = None, described_input: str | None = None) -> None:
        path, line, col = location or self.where(module)
        check = dynamic_check(code)
        self.found.append({"code": code, "name": check.name, "severity": str(check.severity), "message": message,
                           "path": path, "line": line, "col": col,
                           "detail": f"{detail}; input {described_input or self.input}"})

    def all(self, loss: dict[str, Any] | None = None,
            defaults: tuple[tuple[str, str], ...] = ()) -> list[dict[str, Any]]:
        """Every check; `loss` is the training loop's slice (`loss_slice.LossSlice` as a dict), if found."""
        modes = {module: module.training for module in self.model.modules()}
        try:
            self.registration()
            self.eval_determinism()
            self.gradients()
            self.weight_scale()
            if loss is not None:
                self.loss_terms(loss, defaults)
            self.classifier_loss()
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
                self.report("RR151", f"submodule `{name}` ({type(module).__name__}) is registered but never ran "
                            "in forward", name, "one forward in train mode")
        for kind, location in strays.values():
            self.report("RR152", f"a `{kind}` ran inside forward but is not registered in the model: its "
                        "parameters are never trained or saved", "",
                        "one forward in train mode, with a global module hook", location)
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
            self.report("RR251", "after model.eval(), two forwards on the same input differ: dropout (or another "
                        "random operation) is still active in evaluation", "", "two forwards in eval mode, same input")

    # -- trainable parameters without gradient, NaN/Inf ---------------------------------------------
    def gradients(self) -> None:
        self.model.train()
        self.model.zero_grad(set_to_none=True)
        outputs = _tensors(self.run())
        floating = [t for t in outputs if t.is_floating_point() and t.requires_grad]
        if any(not torch.isfinite(t).all() for t in outputs if t.is_floating_point()):
            self.report("RR454", "the forward pass produces NaN or Inf", "", "one forward in train mode")
        if not floating:
            return
        sum(t.float().mean() for t in floating).backward()  # type: ignore[union-attr]
        for name, parameter in self.model.named_parameters():
            if not parameter.requires_grad:
                continue
            owner = name.rpartition(".")[0]
            if parameter.grad is None:
                self.report("RR153", f"trainable parameter `{name}` gets no gradient after forward and backward",
                            owner, "one forward/backward of the mean output in train mode")
            elif not torch.isfinite(parameter.grad).all():
                self.report("RR454", f"the gradient of `{name}` has NaN or Inf",
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
                self.report("RR453", f"`{name}.weight` has std {ratio / math.sqrt(fan_in):.4g}, "
                            f"{ratio:.1f}/sqrt(fan_in) for fan-in {fan_in} (default init gives ~0.58/sqrt(fan_in))",
                            name, "weight statistics after construction")

    # -- loss terms whose scales differ by more than 100x -------------------------------------------
    def loss_terms(self, loss: dict[str, Any], defaults: tuple[tuple[str, str], ...]) -> None:
        from repo_reader.trace.health_loss import MAX_TERM_RATIO, ratio, term_scales

        if self.fixed.kwargs or len(self.fixed.args) != len(loss["model_inputs"]):
            return
        self.model.train()
        measured = term_scales(self.model, self.fixed.args, loss, defaults, self.root)
        if measured is None or ratio(measured[0]) <= MAX_TERM_RATIO:
            return
        scales, targets = measured
        values = ", ".join(f"`{term}` ≈ {value:.3g}" for term, value in scales.items())
        names = ", ".join(f"`{name}`" for name in loss["namespaces"])
        self.report("RR452", f"the loss `{loss['expression']}` adds terms whose scales differ by "
                    f"{ratio(scales):.0f}x on a random batch ({values}): the small terms barely reach the gradient; "
                    "weight or normalise them so that each contributes", "",
                    f"the training loop's statements up to this line, run once in train mode without gradients on "
                    f"one synthesized batch of {self.fixed.size()} (targets: {targets}), with the model built as "
                    f"trace builds it" + (f" and {names} from the entry point's defaults" if names else ""),
                    (loss["path"], loss["line"], loss["col"]), self.fixed.described)

    # -- initial loss of a classifier and overfitting 8 samples ---------------------------------------
    def classifier_loss(self) -> None:
        self.model.train()
        with torch.no_grad():
            logits = [t.detach() for t in _tensors(self.run_fixed())]
        if len(logits) != 1 or logits[0].dim() != 2 or logits[0].shape[1] < 2 or not logits[0].is_floating_point():
            return
        classes = logits[0].shape[1]
        generator = torch.Generator().manual_seed(0)
        labels = torch.randint(0, classes, (logits[0].shape[0],), generator=generator)
        start = float(nn.functional.cross_entropy(logits[0].float(), labels))
        expected = math.log(classes)
        if not math.isfinite(start) or abs(start - expected) > max(1.0, 0.5 * expected):
            self.report("RR451", f"initial cross-entropy on a random batch is {start:.3g}, far from "
                        f"ln({classes}) = {expected:.3g}: check the last layer's initialisation and the input "
                        "normalisation", "",
                        f"one forward in train mode on {labels.shape[0]} samples with random labels",
                        described_input=self.fixed.described)
        self.overfit(labels)

    def overfit(self, labels: torch.Tensor) -> None:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        if not trainable:
            return
        state = {key: value.detach().clone() for key, value in self.model.state_dict().items()}
        self.model.eval()  # overfitting is judged without dropout noise
        try:
            with torch.no_grad():
                start = float(nn.functional.cross_entropy(_tensors(self.run_fixed())[0].float(), labels))
            if not math.isfinite(start):
                return
            lowest = math.inf
            deadline = time.monotonic() + OVERFIT_BUDGET_S
            for rate in OVERFIT_RATES:
                reached, steps = self._fit(trainable, labels, rate, OVERFIT_TARGET * start, deadline)
                lowest = min(lowest, reached)
                self.model.load_state_dict(state)
                if lowest < OVERFIT_TARGET * start:
                    return
                if steps < OVERFIT_STEPS:  # out of time: too slow on CPU to judge
                    self.not_judged.append(f"RR455 not judged: {steps} Adam steps at lr {rate:g} took over "
                                           f"{OVERFIT_BUDGET_S:g} s on CPU without reaching the target")
                    return
        finally:
            self.model.load_state_dict(state)
            self.model.zero_grad(set_to_none=True)
        rates = " and ".join(f"{rate:g}" for rate in OVERFIT_RATES)
        self.report("RR455", f"the model cannot overfit {labels.shape[0]} fixed samples: cross-entropy {start:.3g} → "
                    f"{lowest:.3g} at best after {OVERFIT_STEPS} Adam steps at lr {rates} (the target is "
                    f"{OVERFIT_TARGET:.0%} of the start)", "",
                    f"up to {OVERFIT_STEPS} Adam steps per learning rate ({rates}, eval mode) on one fixed batch of "
                    f"{labels.shape[0]} with random labels; weights restored afterwards",
                    described_input=self.fixed.described)

    def _fit(self, trainable: list[nn.Parameter], labels: torch.Tensor, rate: float, target: float,
             deadline: float) -> tuple[float, int]:
        """The lowest loss reached on the fixed batch and the steps taken, stopping as soon as it is below
        `target`, or at `deadline` (then fewer than OVERFIT_STEPS steps)."""
        adam = _Adam(trainable, rate)
        lowest = math.inf
        for step in range(OVERFIT_STEPS):
            if time.monotonic() > deadline:
                return lowest, step
            value = nn.functional.cross_entropy(_tensors(self.run_fixed())[0].float(), labels)
            lowest = min(lowest, float(value.detach()))
            if lowest < target:
                break
            adam.step(value)
        return lowest, OVERFIT_STEPS


class _Adam:
    """Adam without `torch.optim`, whose import pulls in torch._dynamo (~1.5 s of the check's budget)."""

    def __init__(self, parameters: list[nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.parameters, self.lr, self.betas, self.steps = parameters, lr, betas, 0
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in parameters]

    def step(self, loss: torch.Tensor) -> None:
        for parameter in self.parameters:
            parameter.grad = None
        loss.backward()  # type: ignore[no-untyped-call]
        self.steps += 1
        first, second = self.betas
        with torch.no_grad():
            for parameter, (mean, square) in zip(self.parameters, self.moments):
                if parameter.grad is None:
                    continue
                mean.mul_(first).add_(parameter.grad, alpha=1 - first)
                square.mul_(second).addcmul_(parameter.grad, parameter.grad, value=1 - second)
                denominator = (square / (1 - second ** self.steps)).sqrt_().add_(1e-8)
                parameter.addcdiv_(mean, denominator, value=-self.lr / (1 - first ** self.steps))


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []
