"""RR4xx: optimisation — gradients that are never zeroed, zeroed too early, accumulated unscaled,
loss tensors that keep graphs alive, and optimizers that miss (or hold frozen) parameters."""

from __future__ import annotations

from repo_reader.lint.rules.optimisation import loss_tensors, optimizers, steps

RULES = [*steps.RULES, *loss_tensors.RULES, *optimizers.RULES]
