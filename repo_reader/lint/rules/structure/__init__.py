"""RR1xx: model structure — layers that are not registered, not built once, or never used."""

from __future__ import annotations

from repo_reader.lint.rules.structure import containers, registration, waste

RULES = [*containers.RULES, *registration.RULES, *waste.RULES]
