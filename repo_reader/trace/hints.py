"""Input-size evidence found in the repository's text: transforms, datasets, size options.

Standard library only. Reads the repo's Python files; runs none of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from repo_reader.model import RepoMap
from repo_reader.trace.request import SizeHint

_TRANSFORM = re.compile(r"\b(RandomResizedCrop|CenterCrop|RandomCrop|Resize)\(\s*(?:size\s*=\s*)?\(?(\d+)")
_DATASETS = {"CIFAR10": 32, "CIFAR100": 32, "SVHN": 32, "STL10": 96, "MNIST": 28, "FashionMNIST": 28,
             "KMNIST": 28, "ImageNet": 224, "ImageFolder": 224}
_DATASET = re.compile(r"\b(" + "|".join(sorted(_DATASETS, key=len, reverse=True)) + r")\b")
_IMAGE_OPTIONS = {"image_size", "img_size", "imgsz", "resolution", "input_size", "crop_size"}
_LENGTH_OPTIONS = {"block_size", "seq_len", "max_len", "max_seq_len", "context_length", "sequence_length"}
_MAX_FILES = 400


def find_size_hints(root: Path, repo_map: RepoMap) -> tuple[SizeHint, ...]:
    hints = _option_hints(repo_map) + _text_hints(root, repo_map)
    seen: dict[tuple[str, int], SizeHint] = {}
    for hint in hints:
        seen.setdefault((hint.kind, hint.value), hint)
    return tuple(seen.values())


def command_hints(arguments: tuple[str, ...], command: str) -> list[SizeHint]:
    """Sizes given on the command the run route runs (`--image_size 128`, `--block_size=256`): the
    model was built with them, so they come before any default."""
    hints = []
    for index, word in enumerate(arguments):
        flag, equals, value = word.partition("=")
        if not equals:
            value = arguments[index + 1] if index + 1 < len(arguments) else ""
        dest = flag.lstrip("-").replace("-", "_")
        kind = "image-size" if dest in _IMAGE_OPTIONS else "sequence-length" if dest in _LENGTH_OPTIONS else ""
        if flag.startswith("-") and kind and value.isdigit():
            hints.append(SizeHint(kind, int(value), f"{flag} {value} in `{command}`"))
    return hints


def _option_hints(repo_map: RepoMap) -> list[SizeHint]:
    hints = []
    for entry in repo_map.entry_points:
        for option in entry.options:
            dest = option.name.lstrip("-").replace("-", "_").rpartition(".")[2]
            if not (option.default or "").isdigit():
                continue
            kind = "image-size" if dest in _IMAGE_OPTIONS else "sequence-length" if dest in _LENGTH_OPTIONS else ""
            if kind:
                hints.append(SizeHint(kind, int(option.default or 0), f"default of {option.name} in {entry.path}"))
    return hints


def _text_hints(root: Path, repo_map: RepoMap) -> list[SizeHint]:
    paths = [f.path for f in repo_map.files] or [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.py"))]
    hints = []
    for path in paths[:_MAX_FILES]:
        if not path.endswith(".py"):
            continue
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _TRANSFORM.finditer(line):
                hints.append(SizeHint("image-size", int(match.group(2)), f"{path}:{number}: {match.group(0)})"))
            for match in _DATASET.finditer(line):
                hints.append(SizeHint("image-size", _DATASETS[match.group(1)], f"{path}:{number}: {match.group(1)}"))
    return hints
