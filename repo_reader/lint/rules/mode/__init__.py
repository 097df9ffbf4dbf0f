"""RR2xx: train/eval mode — dropout that ignores the mode, evaluation in training mode or with grad,
and training loops left in eval mode."""

from __future__ import annotations

from repo_reader.lint.rules.mode import dropout, evaluation, reset

RULES = sorted([*dropout.RULES, *evaluation.RULES, *reset.RULES], key=lambda rule: rule.code)
