"""Every rule, by code, and the --select/--ignore choice of which ones run (by code prefix).
Static rules run over the source; dynamic checks (`--dynamic`) only share their codes and explanations."""

from __future__ import annotations

from repo_reader.lint.dynamic import DYNAMIC_CHECKS
from repo_reader.lint.rule import Rule


def all_rules() -> list[type[Rule]]:
    from repo_reader.lint.rules import data, mode, optimisation, performance, structure

    found: list[type[Rule]] = []
    for family in (structure, mode, data, optimisation, performance):
        found.extend(getattr(family, "RULES"))
    return sorted(found, key=lambda rule: rule.code)


def dynamic_rules() -> list[type[Rule]]:
    return sorted(DYNAMIC_CHECKS, key=lambda check: check.code)


def rule_by_code(code: str) -> type[Rule] | None:
    wanted = code.strip().upper()
    for rule in all_rules() + dynamic_rules():
        if rule.code == wanted or rule.name == code.strip().lower():
            return rule
    return None


class SelectionError(ValueError):
    """A --select/--ignore entry that matches no rule."""


def parse_codes(text: str | None) -> list[str]:
    return [part.strip().upper() for part in (text or "").split(",") if part.strip()]


def select_rules(select: list[str] | None = None, ignore: list[str] | None = None) -> list[type[Rule]]:
    """Static rules whose code starts with a selected prefix (all when none) and with no ignored prefix."""
    return _chosen(all_rules(), select, ignore)


def select_dynamic_rules(select: list[str] | None = None, ignore: list[str] | None = None) -> list[type[Rule]]:
    """The same choice among the dynamic checks."""
    return _chosen(dynamic_rules(), select, ignore)


def _chosen(rules: list[type[Rule]], select: list[str] | None, ignore: list[str] | None) -> list[type[Rule]]:
    known = all_rules() + dynamic_rules()
    for prefix in select or []:  # an unknown --ignore entry is harmless (the example ignores RR305)
        if prefix != "ALL" and not any(rule.code.startswith(prefix) for rule in known):
            raise SelectionError(f"no rule code starts with {prefix!r} (codes are RR101 ... RR5xx)")
    chosen = [rule for rule in rules
              if not select or "ALL" in select or any(rule.code.startswith(prefix) for prefix in select)]
    return [rule for rule in chosen if not any(rule.code.startswith(prefix) for prefix in ignore or [])]
