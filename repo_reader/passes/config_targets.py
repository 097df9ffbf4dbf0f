"""Classes a YAML config names to be built: OmegaConf's `target: pkg.models.Net` with its `params:`
(read by `instantiate_from_config`) and Hydra's `_target_: pkg.models.Net` with its sibling keys.
Each is a construction site at the YAML line, built by the entry point that loads that config.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from typing import TypeVar

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.model import ConstructionSite, DatasetInfo, EntryPoint, EntrySource, Evidence, FileInfo, ModelInfo, Role
from repo_reader.passes.config_layers import YAML_SUFFIXES, string_literal
from repo_reader.passes.yaml_nodes import MAX_YAML_BYTES, YamlNode, read_yaml

TARGET_KEYS = ("target", "_target_")
_MENTIONS_TARGET = re.compile(r"^[ \t-]*['\"]?_?target_?['\"]?[ \t]*:", re.MULTILINE)
_MAX_DEPTH = 8


class ConfigTargets:
    """Construction sites in YAML configs, by class qualname, and the configs that hold them."""

    def __init__(self, texts: dict[str, str], symbols: SymbolTable, classes: ClassIndex,
                 entries: tuple[EntryPoint, ...]) -> None:
        self.symbols = symbols
        self.classes = classes
        self.entries = sorted(entries, key=lambda entry: entry.rank)
        self.sites: dict[str, list[ConstructionSite]] = {}
        self.named: dict[str, list[str]] = {}  # YAML path → the classes it names
        self.lines = {path: len(text.splitlines()) for path, text in texts.items()}
        for path, text in sorted(texts.items()):
            if path.endswith(YAML_SUFFIXES) and len(text) <= MAX_YAML_BYTES and _MENTIONS_TARGET.search(text):
                root = read_yaml(text)
                if root is not None:
                    self._walk(path, root, self._loader(path), 0)

    def config_files(self) -> dict[str, FileInfo]:
        """Role `config` for each YAML file naming one of the repo's models or datasets to build."""
        found = {}
        for path, names in sorted(self.named.items()):
            shown = ", ".join(dict.fromkeys(name.rsplit(".", 1)[-1] for name in names))
            evidence = (Evidence(f"names {shown} to build, with its arguments", 60),)
            found[path] = FileInfo(path, "", Role.CONFIG, 95, evidence, self.lines[path])
        return found

    def _walk(self, path: str, node: YamlNode, caller: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if node.kind == "mapping":
            for key in TARGET_KEYS:
                self._site(path, node, key, caller)
        for child in (value for _, value in node.items) if node.kind == "mapping" else node.elements:
            self._walk(path, child, caller, depth + 1)

    def _site(self, path: str, node: YamlNode, key: str, caller: str) -> None:
        target = node.get(key)
        if target is None or target.kind != "scalar":
            return
        qualname = self.symbols.canonical(target.value).qualname
        if qualname not in self.classes.classes:
            return
        key_node = next(name for name, value in node.items if value is target)
        self.sites.setdefault(qualname, []).append(
            ConstructionSite(path, key_node.line, key_node.col, caller, _arguments(node, key)))
        self.named.setdefault(path, []).append(qualname)

    def _loader(self, path: str) -> str:
        """The best-ranked entry point that loads this config (a Hydra config or its folder, an option's
        default, its documented command); else the YAML path itself, which no entry point reaches."""
        for entry in self.entries:
            if _loads(entry, path):
                return entry.name
        return path


def _loads(entry: EntryPoint, path: str) -> bool:
    if entry.source == EntrySource.HYDRA and entry.config_path:
        folder = posixpath.dirname(entry.config_path)
        if path == entry.config_path or path.startswith(folder + "/"):
            return True
    here = posixpath.dirname(entry.path)
    named = [string_literal(option.default or "") for option in entry.options] + entry.command.split()
    return any(text and path in (posixpath.normpath(text), posixpath.normpath(posixpath.join(here, text)))
               for text in named)


def _arguments(node: YamlNode, key: str) -> tuple[str, ...]:
    """`params:` of an OmegaConf `target`; the sibling keys of a Hydra `_target_` (not `_partial_` and kin)."""
    if key == "target":
        params = node.get("params")
        items = params.items if params is not None and params.kind == "mapping" else ()
    else:
        items = tuple((name, value) for name, value in node.items if not name.value.startswith("_"))
    return tuple(f"{name.value}={value.text}" for name, value in items if name.kind == "scalar")


Built = TypeVar("Built", ModelInfo, DatasetInfo)


def with_config_sites(found: list[Built], sites: dict[str, list[ConstructionSite]]) -> list[Built]:
    """Models or datasets with the sites configs give them, after those the code gives."""
    return [replace(item, constructed_at=item.constructed_at + tuple(sites[item.qualname]))
            if item.qualname in sites else item for item in found]
