"""Frameworks a repository uses (Lightning, Hydra, DDP, accelerate, ...), from its imports and calls."""

from __future__ import annotations

from repo_reader.model import CallEdge
from repo_reader.scan.facts import ModuleFacts

IMPORT_MARKERS = {
    "lightning": "Lightning", "pytorch_lightning": "Lightning", "hydra": "Hydra", "omegaconf": "OmegaConf",
    "accelerate": "accelerate", "deepspeed": "DeepSpeed", "transformers": "transformers", "timm": "timm",
    "fairscale": "fairscale", "wandb": "wandb", "tensorboard": "TensorBoard", "torch.utils.tensorboard": "TensorBoard",
    "apex": "apex", "fire": "fire", "click": "click", "typer": "typer", "diffusers": "diffusers",
    "torchvision": "torchvision", "jax": "JAX", "tensorflow": "TensorFlow", "mmcv": "mmcv", "detectron2": "detectron2",
}
CALL_MARKERS = {
    "torch.nn.parallel.DistributedDataParallel": "DDP", "torch.distributed.init_process_group": "DDP",
    "torch.nn.DataParallel": "DataParallel", "torch.cuda.amp.autocast": "AMP", "torch.autocast": "AMP",
    "torch.amp.autocast": "AMP", "torch.cuda.amp.GradScaler": "AMP", "torch.compile": "torch.compile",
    "torch.distributed.fsdp.FullyShardedDataParallel": "FSDP",
}


MIN_FILES = 5  # in a repository of at least this many files, a framework imported by one file (two in a
CORNER_SHARE = 10  # repository of 20 files or more: a tenth) is used in a corner, not by the repository


def detect_frameworks(modules: tuple[ModuleFacts, ...], edges: tuple[CallEdge, ...], texts: dict[str, str]) -> tuple[str, ...]:
    """Names of the frameworks used; one imported by a single file of a larger repository (a conversion
    script) says so: `TensorFlow (only in tools/convert.py)`. A package does not use itself."""
    found: set[str] = {"PyTorch"} if any(f.target.split(".")[0] == "torch" for m in modules for f in m.imports) else set()
    own = {facts.module.split(".")[0] for facts in modules}
    importers: dict[str, set[str]] = {}
    for facts in modules:
        for fact in facts.imports:
            for prefix, name in IMPORT_MARKERS.items():
                if (fact.target == prefix or fact.target.startswith(prefix + ".")) and prefix.split(".")[0] not in own:
                    importers.setdefault(name, set()).add(facts.path)
    for name, paths in importers.items():
        corner = len(modules) >= MIN_FILES and len(paths) <= max(1, min(2, len(modules) // CORNER_SHARE))
        found.add(f"{name} (only in {', '.join(sorted(paths))})" if corner else name)
    for edge in edges:
        marker = CALL_MARKERS.get(edge.callee)
        if marker:
            found.add(marker)
    if any("torchrun" in text or "torch.distributed.launch" in text for text in texts.values()):
        found.add("DDP")
    return tuple(sorted(found))
