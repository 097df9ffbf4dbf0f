"""Decorator registries (`@MODELS.register("name")`): which classes join which registry, so that
`MODELS.build(cfg)` can be followed to every class it may build.
"""

from __future__ import annotations

import re

from repo_reader.index.symbols import SymbolTable
from repo_reader.scan.facts import ModuleFacts

REGISTER = re.compile(r"^(?P<registry>[\w.]+)\.(?:register\w*)(?:\((?P<args>.*)\))?$")
KEY = re.compile(r"""^\s*(?:name\s*=\s*)?['"](?P<key>[^'"]+)['"]""")
BUILD_METHODS = ("build", "get", "create", "build_from_cfg", "__getitem__")


def find_registries(modules: tuple[ModuleFacts, ...], symbols: SymbolTable) -> dict[str, dict[str, str]]:
    """registry qualname → {key: class qualname}."""
    registries: dict[str, dict[str, str]] = {}
    for facts in modules:
        for definition in facts.definitions:
            if definition.kind != "class":
                continue
            for decorator in definition.decorators:
                match = REGISTER.match(decorator)
                if not match:
                    continue
                registry = symbols.resolve(facts.module, match.group("registry")).qualname
                key_match = KEY.match(match.group("args") or "")
                key = key_match.group("key") if key_match else definition.qualname
                registries.setdefault(registry, {})[key] = f"{facts.module}.{definition.qualname}"
    return registries


def registry_of_call(callee_qualname: str, registries: dict[str, dict[str, str]]) -> str | None:
    """`seg.models.builder.MODELS.build` → `seg.models.builder.MODELS` when that is a registry."""
    owner, _, method = callee_qualname.rpartition(".")
    return owner if method in BUILD_METHODS and owner in registries else None
