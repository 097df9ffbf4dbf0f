"""Cross-file name resolution: what a name spelled in one module refers to, as a qualified name.

`nn.Conv2d` in a module that did `from torch import nn` is `torch.nn.Conv2d`; `AutoEncoder` imported
through a package's `__init__` re-export is `autoenc.models.autoencoder.AutoEncoder`.
"""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass

from repo_reader.scan.facts import ModuleFacts

BUILTINS = frozenset(dir(builtins))
MAX_HOPS = 16  # re-export chains longer than this are cycles


@dataclass(frozen=True, slots=True)
class Resolved:
    qualname: str  # "torch.nn.Conv2d", "models.net.Net", "<builtin>.len", or the raw text
    internal: bool  # defined in this repository
    resolved: bool


class SymbolTable:
    """Every module's bindings, plus the repo's definitions, for resolving dotted names."""

    def __init__(self, modules: tuple[ModuleFacts, ...]) -> None:
        self.modules = {facts.module: facts for facts in modules}
        self.definitions: dict[str, str] = {}  # qualified name → kind
        self.bindings: dict[str, dict[str, str]] = {}  # module → local name → absolute target
        self.stars: dict[str, list[str]] = {}
        for facts in modules:
            for definition in facts.definitions:
                self.definitions[f"{facts.module}.{definition.qualname}"] = definition.kind
            local: dict[str, str] = {}
            for fact in facts.imports:
                if fact.local == "*":
                    self.stars.setdefault(facts.module, []).append(fact.target)
                elif fact.local not in local or "." not in fact.local:
                    local[fact.local] = fact.target
            for name in facts.globals:
                if f"{facts.module}.{name}" in self.definitions or name not in local:
                    local.setdefault(name, f"{facts.module}.{name}")
            # A definition shadows an import of the same name bound earlier.
            for definition in facts.definitions:
                if "." not in definition.qualname:
                    local[definition.qualname] = f"{facts.module}.{definition.qualname}"
            self.bindings[facts.module] = local
        self.top_level = frozenset(name.split(".")[0] for name in self.modules)
        self._memo: dict[str, dict[str, Resolved]] = {}  # module → spelling → answer

    def is_module(self, name: str) -> bool:
        return name in self.modules

    def resolve(self, module: str, dotted: str) -> Resolved:
        """Resolve `dotted` as spelled inside `module` (not through local variables); memoised."""
        memo = self._memo.get(module)
        if memo is None:
            memo = self._memo[module] = {}
        found = memo.get(dotted)
        if found is None:
            found = memo[dotted] = self._resolve(module, dotted)
        return found

    def _resolve(self, module: str, dotted: str) -> Resolved:
        if not dotted:
            return Resolved(dotted, False, False)
        head, _, rest = dotted.partition(".")
        target = self._lookup(module, head, set())
        if target is None:
            if head in BUILTINS:
                return Resolved(f"<builtin>.{dotted}", False, True)
            return Resolved(dotted, False, False)
        full = f"{target}.{rest}" if rest else target
        found = self.canonical(full)
        if not found.internal and "." in module and target.split(".")[0] not in self.top_level:
            # A script's folder is on sys.path: `tools/train.py` importing `utils` means `tools/utils.py`.
            package = module.rsplit(".", 1)[0]
            if f"{package}.{target.split('.')[0]}" in self.modules:
                return self.canonical(f"{package}.{full}")
        return found

    def _lookup(self, module: str, name: str, seen: set[str]) -> str | None:
        if module in seen:
            return None
        seen.add(module)
        local = self.bindings.get(module, {})
        if name in local:
            return local[name]
        for star in self.stars.get(module, []):
            facts = self.modules.get(star)
            if facts is None:
                continue
            exported = facts.exports if facts.exports is not None else facts.globals
            if name in exported or (facts.exports is None and name in self.bindings.get(star, {})
                                    and not name.startswith("_")):
                found = self._lookup(star, name, seen)
                if found:
                    return found
        return None

    def canonical(self, qualname: str) -> Resolved:
        """Follow re-exports until `qualname` names a definition, a module, or leaves the repo."""
        for _ in range(MAX_HOPS):
            if qualname in self.definitions or qualname in self.modules:
                return Resolved(qualname, True, True)
            module, name, rest = self._split(qualname)
            if module is None:
                return Resolved(qualname, False, True)
            target = self._lookup(module, name, set())
            if target is None:
                # A name the repo module binds dynamically, or a definition nested deeper.
                parent = f"{module}.{name}"
                if parent in self.definitions:
                    return Resolved(qualname, True, True)
                return Resolved(qualname, True, False)
            next_name = f"{target}.{rest}" if rest else target
            if next_name == qualname:
                return Resolved(qualname, True, True)
            qualname = next_name
        return Resolved(qualname, True, False)

    def _split(self, qualname: str) -> tuple[str | None, str, str]:
        """The longest repo module prefix of `qualname`, the next name, and what follows it."""
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in self.modules:
                return module, parts[cut], ".".join(parts[cut + 1 :])
        return None, "", ""


@functools.lru_cache(maxsize=65536)
def scopes_outwards(scope: str) -> tuple[str, ...]:
    """`A.f.g` → ("A.f.g", "A.f", "A", ""): where a name is looked up, innermost first."""
    parts = scope.split(".") if scope else []
    return tuple(".".join(parts[:cut]) for cut in range(len(parts), -1, -1))
