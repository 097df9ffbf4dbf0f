"""The YAML config an entry point loads, composed as Hydra would (`defaults: [{model: resnet_small}]`
pulls `configs/model/resnet_small.yaml` in under `model`), and the section that names a registry
key (`name: resnet_small`). Standard library and optional PyYAML; runs none of the repo's code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_REGISTRY_ARGUMENT = re.compile(r"^<registry (?P<registry>[\w.]+)\[(?P<key>'[^']*'|\"[^\"]*\")\]>$")
NAME_KEYS = ("name", "type", "arch", "model_name", "_target_")
_MAX_GROUP_FILES = 200


def registry_key(site_args: tuple[str, ...]) -> str | None:
    """`("<registry MODELS['resnet_small']>",)`, the map's mark for a registry build → `resnet_small`."""
    match = _REGISTRY_ARGUMENT.match(site_args[0]) if len(site_args) == 1 else None
    return match["key"][1:-1] if match else None


def load_config(root: Path, config_path: str) -> dict[str, Any]:
    """The config file with its Hydra `defaults` groups merged in under their group names."""
    path = _existing(root / config_path)
    config = _read_yaml(path) if path else {}
    if path is None:
        return config
    for group, option in _default_groups(config):
        group_file = _existing(path.parent / group / option)
        if group_file is not None and not isinstance(config.get(group), dict):
            config[group] = _read_yaml(group_file)
    return config


def section_naming(root: Path, config_path: str, key: str) -> tuple[dict[str, Any], str] | None:
    """The config section that names `key` (`name: key`, `type: key`) and a line saying where it was
    found: a default group file, the config itself, else any group file of its folder (not the default)."""
    path = _existing(root / config_path)
    if path is None:
        return None
    config = _read_yaml(path)
    places = [(path.parent / group / option, f"the `{group}` default of {config_path}")
              for group, option in _default_groups(config)]
    places.append((path, "the entry point's config"))
    places += [(group_file, f"a `{group_file.parent.name}` choice; not the default of {config_path}")
               for group_file in sorted(path.parent.glob("*/*.y*ml"))[:_MAX_GROUP_FILES]]
    for place, why in places:
        existing = _existing(place)
        found = _find_section(_read_yaml(existing), key) if existing else None
        if existing is not None and found is not None:
            return found, f"{_relative(existing, root)}, {why}"
    return None


def _find_section(node: Any, key: str, depth: int = 0) -> dict[str, Any] | None:
    if not isinstance(node, dict) or depth > 4:
        return None
    if any(node.get(name) == key for name in NAME_KEYS):
        return node
    for value in node.values():
        found = _find_section(value, key, depth + 1)
        if found is not None:
            return found
    return None


def _default_groups(config: dict[str, Any]) -> list[tuple[str, str]]:
    """`defaults: [{model: resnet_small}, _self_]` → [("model", "resnet_small")]."""
    defaults = config.get("defaults")
    groups = []
    for item in defaults if isinstance(defaults, list) else []:
        if isinstance(item, dict) and len(item) == 1:
            group, option = next(iter(item.items()))
            if isinstance(group, str) and isinstance(option, str) and "/" not in option and not group.startswith("override"):
                groups.append((group, option))
    return groups


def _existing(path: Path) -> Path | None:
    for candidate in (path, path.with_suffix(".yaml"), path.with_suffix(".yml")):
        if candidate.is_file():
            return candidate
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        import yaml  # type: ignore[import-untyped]  # optional: only to read a YAML config the entry point loads
    except ImportError:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
