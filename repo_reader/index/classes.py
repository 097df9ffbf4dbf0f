"""The class hierarchy: each repo class's resolved bases, and which are models and datasets.

A class is an nn.Module when any base, through the repo's own classes, is a known module base.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from repo_reader.index.symbols import SymbolTable
from repo_reader.scan.facts import DefFact, ModuleFacts

MODULE_ROOTS = {
    "torch.nn.Module": "torch",
    "torch.nn.modules.module.Module": "torch",
    "pytorch_lightning.LightningModule": "lightning",
    "lightning.LightningModule": "lightning",
    "lightning.pytorch.LightningModule": "lightning",
    "pytorch_lightning.core.LightningModule": "lightning",
    "pytorch_lightning.core.lightning.LightningModule": "lightning",
    "lightning.pytorch.core.LightningModule": "lightning",
    "transformers.PreTrainedModel": "transformers",
    "transformers.modeling_utils.PreTrainedModel": "transformers",
    "diffusers.ModelMixin": "diffusers",
    "diffusers.models.modeling_utils.ModelMixin": "diffusers",
}
LIBRARY_MODULE_SUFFIXES = ("Model", "Module", "Block", "Layer", "Attention", "Embeddings", "Encoder", "Decoder",
                           "Transformer", "Mlp", "MLP", "Head", "Norm", "Embed")
NOT_MODULES = {"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.Buffer"}
DATASET_ROOTS = {
    "torch.utils.data.Dataset", "torch.utils.data.IterableDataset", "torch.utils.data.dataset.Dataset",
    "torch.utils.data.dataset.IterableDataset", "torch.utils.data.TensorDataset",
    "torch.utils.data.ConcatDataset", "torch.utils.data.Subset",
}
DATAMODULE_ROOTS = {
    "pytorch_lightning.LightningDataModule", "lightning.LightningDataModule",
    "lightning.pytorch.LightningDataModule",
}


@dataclass(frozen=True, slots=True)
class ClassInfo:
    qualname: str  # module.Class
    module: str
    definition: DefFact
    bases: tuple[str, ...]  # resolved qualified names
    framework: str | None  # torch | lightning | transformers | ... when it is an nn.Module
    is_dataset: bool
    is_datamodule: bool
    methods: tuple[str, ...]  # names defined directly on the class


def external_module_framework(qualname: str) -> str | None:
    """Whether a class outside the repo is an nn.Module, judged by name (torch.nn.Linear, ...)."""
    if qualname in MODULE_ROOTS:
        return MODULE_ROOTS[qualname]
    if qualname in NOT_MODULES:
        return None
    if qualname.startswith("torch.nn.") and qualname.rsplit(".", 1)[-1][:1].isupper():
        return "torch"
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith(("timm.models.", "timm.layers.")) and last[:1].isupper():
        return "timm"
    if qualname.startswith(("timm.", "transformers.", "diffusers.")) and last.endswith(LIBRARY_MODULE_SUFFIXES):
        return qualname.split(".")[0]
    if qualname.startswith("transformers.") and "For" in last and last[:1].isupper():
        return "transformers"  # BertForSequenceClassification and friends
    return None


Found = TypeVar("Found")


class ClassIndex:
    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable) -> None:
        self.symbols = symbols
        raw: dict[str, tuple[str, DefFact, tuple[str, ...], tuple[str, ...]]] = {}
        for facts in modules:
            method_names: dict[str, list[str]] = {}
            for definition in facts.definitions:
                owner, _, name = definition.qualname.rpartition(".")
                if definition.kind == "method":
                    method_names.setdefault(owner, []).append(name)
            for definition in facts.definitions:
                if definition.kind != "class":
                    continue
                bases = tuple(symbols.resolve(facts.module, base).qualname for base in definition.bases)
                qualname = f"{facts.module}.{definition.qualname}"
                raw[qualname] = (facts.module, definition, bases, tuple(method_names.get(definition.qualname, ())))
        self._raw = raw
        self._mro: dict[str, list[str]] = {}
        self._forest: _Forest | None = None
        self._methods: dict[tuple[str, str], str | None] = {}
        self._torch_bases: dict[tuple[str, str], bool | None] = {}
        self._frameworks: dict[str, object] = {}
        datasets: dict[str, object] = {}
        datamodules: dict[str, object] = {}
        self.classes: dict[str, ClassInfo] = {}
        for qualname in sorted(raw):
            module, definition, bases, methods = raw[qualname]
            self.classes[qualname] = ClassInfo(
                qualname, module, definition, bases, self._framework(qualname),
                self._reaches(qualname, DATASET_ROOTS, datasets), self._reaches(qualname, DATAMODULE_ROOTS, datamodules),
                methods,
            )

    def _framework(self, qualname: str) -> str | None:
        """The framework of the first ancestor (depth first, bases left to right) that has one."""
        found = self._first_ancestor(qualname, self._external_framework, self._frameworks)
        return found if isinstance(found, str) else None

    def _external_framework(self, qualname: str) -> str | None:
        return None if qualname in self._raw else external_module_framework(qualname)

    def _reaches(self, qualname: str, roots: set[str], memo: dict[str, object]) -> bool:
        """Whether the class or an ancestor is one of `roots` (a Dataset, a LightningDataModule)."""
        return bool(self._first_ancestor(qualname, lambda name: name in roots or None, memo))

    def _first_ancestor(self, start: str, value: Callable[[str], object], memo: dict[str, object]) -> object:
        """The first truthy `value(name)` over the class and its ancestors, depth first, bases left to
        right; memoised, and iterative: a 2,000-deep inheritance chain is walked once, not once per
        class and not on Python's stack. A base that leads back into the chain being walked (a cycle)
        contributes nothing."""
        stack: list[tuple[str, int]] = [(start, 0)]
        walking = {start}
        while stack:
            name, index = stack[-1]
            found = value(name)
            if found or name not in self._raw:
                memo[name] = found or None
            else:
                bases = self._raw[name][2]
                while index < len(bases) and (bases[index] in walking or bases[index] in memo
                                              and not memo[bases[index]]):
                    index += 1
                if index < len(bases) and bases[index] not in memo:
                    stack[-1] = (name, index)
                    stack.append((bases[index], 0))
                    walking.add(bases[index])
                    continue
                memo[name] = memo[bases[index]] if index < len(bases) else None
            stack.pop()
            walking.discard(name)
        return memo[start]

    def in_module(self, module: str) -> list[ClassInfo]:
        if not hasattr(self, "_by_module"):
            self._by_module: dict[str, list[ClassInfo]] = {}
            for info in self.classes.values():
                self._by_module.setdefault(info.module, []).append(info)
        return self._by_module.get(module, [])

    def mro(self, qualname: str) -> list[str]:
        """The class and its repo ancestors, breadth-first left to right (good enough for lookups); memoised.

        A class with one base in the repo has `[class] + mro(base)`, so a chain of such classes is built
        from its top down, each list copied from its parent's (a 2,000-deep chain took 24 s when each
        class walked the whole chain)."""
        if qualname in self._mro:
            return self._mro[qualname]
        chain = [qualname]  # classes whose order follows from their one base's, up to one that does not
        parent = self._single_base(qualname)
        while parent is not None and parent not in self._mro and parent not in chain:
            chain.append(parent)
            parent = self._single_base(parent)
        if parent is None or parent in chain:  # the top: no single base, or a cycle back into the chain
            top = chain.pop()
            self._mro[top] = self._compute_mro(top)
        for name in reversed(chain):
            above = self._mro[self._single_base(name)]  # type: ignore[index]
            self._mro[name] = [name] + ([other for other in above if other != name] if name in above else above)
        return self._mro[qualname]

    def _single_base(self, qualname: str) -> str | None:
        """The one base of a repo class that is itself a repo class, if it has exactly one."""
        info = self.classes.get(qualname)
        if info is None:
            return None
        bases = [base for base in info.bases if base in self.classes]
        return bases[0] if len(bases) == 1 else None

    def _compute_mro(self, qualname: str) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()
        queue = deque([qualname])
        while queue:
            current = queue.popleft()
            if current in seen or current not in self.classes:
                continue
            seen.add(current)
            order.append(current)
            queue.extend(self.classes[current].bases)
        return order

    def find_method(self, qualname: str, method: str) -> str | None:
        return self.first_in_mro(qualname, method, lambda owner: f"{owner}.{method}"
                                 if method in self.classes[owner].methods else None, self._methods)

    def derives_from(self, qualname: str, prefix: str) -> bool:
        """Whether the class or a repo ancestor names a base under `prefix` (`torch.optim.`); memoised
        along single-base chains, so asking every class of a deep hierarchy stays linear."""
        def names_it(owner: str) -> bool | None:
            return True if any(base.startswith(prefix) for base in self.classes[owner].bases) else None

        return bool(self.first_in_mro(qualname, prefix, names_it, self._torch_bases))

    def first_in_mro(self, qualname: str, key: str, lookup: Callable[[str], Found | None],
                     memo: dict[tuple[str, str], Found | None]) -> Found | None:
        """The first truthy `lookup(owner)` along the class's mro; memoised per (class, key) in `memo`.

        Classes with a single repo base share their base's answer, so asking every class of a long
        chain costs one walk of the chain, not one each."""
        below: list[str] = []  # classes that inherit the answer of the next one up
        current = qualname
        while True:
            if (current, key) in memo:
                found = memo[(current, key)]
                break
            if current in self.classes and (found := lookup(current)):
                below.append(current)
                break
            below.append(current)
            base = self._single_base(current)
            if base is None or base in below:
                found = next((value for owner in self.mro(current) if (value := lookup(owner))), None)
                break
            current = base
        for name in below:
            memo[(name, key)] = found
        return found

    def first_owner(self, qualname: str, owners: Collection[str]) -> str | None:
        """The first class along `qualname`'s mro that is one of `owners` (say, the classes whose body
        binds some name). Walks up to `WALK_STEPS` single bases; past that it asks the single-base
        forest for the deepest owner above the class, so a question from the bottom of a 5,000-deep
        chain costs the owners of the name, not the chain."""
        current = qualname
        for _ in range(WALK_STEPS):
            if current in owners:
                return current
            base = self._single_base(current)
            if base is None:
                return next((owner for owner in self.mro(current)[1:] if owner in owners), None)
            current = base
        forest = self._forest = self._forest or _Forest.of(self)
        root = forest.root.get(current)
        if root is None:  # in a cycle of single bases: the plain walk
            return next((owner for owner in self.mro(current) if owner in owners), None)
        above = [owner for owner in owners if forest.root.get(owner) == root and forest.holds(owner, current)]
        if above:
            return max(above, key=forest.depth.__getitem__)
        return next((owner for owner in self.mro(root)[1:] if owner in owners), None)

    def inherits(self, qualname: str, owner: str) -> bool:
        """Whether `owner` is the class or one of its repo ancestors."""
        return self.first_owner(qualname, (owner,)) is not None

    def short_mro(self, qualname: str, limit: int) -> list[str] | None:
        """The mro when it is at most `limit` classes long, else None (without building a long one)."""
        current, steps = qualname, 0
        while steps < limit:
            base = self._single_base(current)
            if base is None:
                return self.mro(qualname) if steps + len(self.mro(current)) <= limit else None
            current, steps = base, steps + 1
        return None

    def models(self) -> list[ClassInfo]:
        return [info for info in self.classes.values() if info.framework]

    def datasets(self) -> list[ClassInfo]:
        return [info for info in self.classes.values() if info.is_dataset]


WALK_STEPS = 16  # single-base steps walked before the forest answers (most lookups end in one or two)


@dataclass(frozen=True, slots=True)
class _Forest:
    """The single-base relation as a forest: each class's tree root (a class with no single repo base),
    depth, and entry/exit times of a depth-first walk, so "is A above B" is two comparisons."""

    root: dict[str, str]
    depth: dict[str, int]
    entered: dict[str, int]
    left: dict[str, int]

    def holds(self, above: str, below: str) -> bool:
        return self.entered[above] <= self.entered[below] <= self.left[above]

    @staticmethod
    def of(index: ClassIndex) -> _Forest:
        children: dict[str, list[str]] = {}
        roots = []
        for name in index.classes:
            base = index._single_base(name)
            if base is None:
                roots.append(name)
            else:
                children.setdefault(base, []).append(name)
        root: dict[str, str] = {}
        depth: dict[str, int] = {}
        entered: dict[str, int] = {}
        left: dict[str, int] = {}
        clock = 0
        for top in roots:  # classes in a cycle of single bases hang under no root and stay out
            stack = [(top, 0, False)]
            while stack:
                name, level, leaving = stack.pop()
                if leaving:
                    left[name] = clock
                    continue
                root[name], depth[name], entered[name] = top, level, clock
                clock += 1
                stack.append((name, level, True))
                stack.extend((child, level + 1, False) for child in children.get(name, ()))
        return _Forest(root, depth, entered, left)
