"""The class hierarchy: each repo class's resolved bases, and which are models and datasets.

A class is an nn.Module when any base, through the repo's own classes, is a known module base.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        self.classes: dict[str, ClassInfo] = {}
        for qualname in sorted(raw):
            module, definition, bases, methods = raw[qualname]
            self.classes[qualname] = ClassInfo(
                qualname, module, definition, bases, self._framework(qualname, set()),
                self._reaches(qualname, DATASET_ROOTS, set()), self._reaches(qualname, DATAMODULE_ROOTS, set()),
                methods,
            )

    def _framework(self, qualname: str, seen: set[str]) -> str | None:
        if qualname in seen:
            return None
        seen.add(qualname)
        if qualname not in self._raw:
            return external_module_framework(qualname)
        for base in self._raw[qualname][2]:
            found = self._framework(base, seen)
            if found:
                return found
        return None

    def _reaches(self, qualname: str, roots: set[str], seen: set[str]) -> bool:
        if qualname in roots:
            return True
        if qualname in seen or qualname not in self._raw:
            return False
        seen.add(qualname)
        return any(self._reaches(base, roots, seen) for base in self._raw[qualname][2])

    def in_module(self, module: str) -> list[ClassInfo]:
        if not hasattr(self, "_by_module"):
            self._by_module: dict[str, list[ClassInfo]] = {}
            for info in self.classes.values():
                self._by_module.setdefault(info.module, []).append(info)
        return self._by_module.get(module, [])

    def mro(self, qualname: str) -> list[str]:
        """The class and its repo ancestors, breadth-first left to right (good enough for lookups); memoised."""
        found = self._mro.get(qualname)
        if found is None:
            found = self._mro[qualname] = self._compute_mro(qualname)
        return found

    def _compute_mro(self, qualname: str) -> list[str]:
        order: list[str] = []
        stack = [qualname]
        while stack:
            current = stack.pop(0)
            if current in order or current not in self.classes:
                continue
            order.append(current)
            stack.extend(self.classes[current].bases)
        return order

    def find_method(self, qualname: str, method: str) -> str | None:
        for owner in self.mro(qualname):
            if method in self.classes[owner].methods:
                return f"{owner}.{method}"
        return None

    def models(self) -> list[ClassInfo]:
        return [info for info in self.classes.values() if info.framework]

    def datasets(self) -> list[ClassInfo]:
        return [info for info in self.classes.values() if info.is_dataset]
