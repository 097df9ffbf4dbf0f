"""Qualified names of the PyTorch things the rules look for, and their canonical spelling.

`torch.nn.modules.dropout.Dropout` and `torch.nn.Dropout` are one class; rules compare canonical names.
"""

from __future__ import annotations

import re

_NN_SUBMODULE = re.compile(r"^torch\.nn\.modules\.\w+\.")
_DATA_SUBMODULE = re.compile(r"^torch\.utils\.data\.(dataloader|dataset|sampler|distributed)\.")


def canonical(qualname: str) -> str:
    """`torch.nn.modules.conv.Conv2d` → `torch.nn.Conv2d`; other names unchanged."""
    qualname = _NN_SUBMODULE.sub("torch.nn.", qualname)
    return _DATA_SUBMODULE.sub("torch.utils.data.", qualname)


DATALOADERS = frozenset({"torch.utils.data.DataLoader"})
DATALOADER_POSITIONAL = (
    "dataset", "batch_size", "shuffle", "sampler", "batch_sampler", "num_workers", "collate_fn",
    "pin_memory", "drop_last", "timeout", "worker_init_fn", "multiprocessing_context", "generator",
)
FUNCTIONAL_DROPOUT = {  # name → position of `training` among the positional parameters
    "torch.nn.functional.dropout": 2, "torch.nn.functional.dropout1d": 2,
    "torch.nn.functional.dropout2d": 2, "torch.nn.functional.dropout3d": 2,
    "torch.nn.functional.alpha_dropout": 2, "torch.nn.functional.feature_alpha_dropout": 2,
}
DROPOUT_LAYERS = frozenset({
    "torch.nn.Dropout", "torch.nn.Dropout1d", "torch.nn.Dropout2d", "torch.nn.Dropout3d",
    "torch.nn.AlphaDropout", "torch.nn.FeatureAlphaDropout",
})
BATCHNORM_LAYERS = frozenset({
    "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d", "torch.nn.SyncBatchNorm",
    "torch.nn.LazyBatchNorm1d", "torch.nn.LazyBatchNorm2d", "torch.nn.LazyBatchNorm3d",
})
BIASED_LAYERS = frozenset({
    "torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d", "torch.nn.Linear",
    "torch.nn.LazyConv1d", "torch.nn.LazyConv2d", "torch.nn.LazyConv3d", "torch.nn.LazyLinear",
})
CONTAINERS = frozenset({
    "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict",
    "torch.nn.ParameterList", "torch.nn.ParameterDict",
})
NO_GRAD_CONTEXTS = frozenset({
    "torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad",
    "torch.autograd.grad_mode.inference_mode", "torch.set_grad_enabled", "torch.enable_grad",
})
OPTIMIZER_PREFIXES = ("torch.optim.", "timm.optim.", "transformers.optimization.", "apex.optimizers.",
                      "bitsandbytes.optim.")
SCHEDULER_PREFIX = "torch.optim.lr_scheduler."


def is_layer(qualname: str) -> bool:
    """A `torch.nn` layer class (not a container, a parameter, or the functional API)."""
    if not qualname.startswith("torch.nn.") or qualname.count(".") != 2:
        return False
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() and last not in {"Parameter", "Module", "Buffer", "UninitializedParameter"}


def is_optimizer(qualname: str) -> bool:
    return qualname.startswith(OPTIMIZER_PREFIXES) and not qualname.startswith(SCHEDULER_PREFIX) and \
        qualname.rsplit(".", 1)[-1][:1].isupper()
