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


def detect_frameworks(modules: tuple[ModuleFacts, ...], edges: tuple[CallEdge, ...], texts: dict[str, str]) -> tuple[str, ...]:
    found: set[str] = {"PyTorch"} if any(f.target.split(".")[0] == "torch" for m in modules for f in m.imports) else set()
    for facts in modules:
        for fact in facts.imports:
            for prefix, name in IMPORT_MARKERS.items():
                if fact.target == prefix or fact.target.startswith(prefix + "."):
                    found.add(name)
    for edge in edges:
        marker = CALL_MARKERS.get(edge.callee)
        if marker:
            found.add(marker)
    if any("torchrun" in text or "torch.distributed.launch" in text for text in texts.values()):
        found.add("DDP")
    return tuple(sorted(found))
