"""What the run route neutralises while a repository's training script runs to its model: CUDA (the
script sees one GPU, and moves to it stay on the CPU or the meta device), distributed set-up (one
process: collectives leave tensors as they are, DDP and DataParallel hand back the model), `torch.compile`, `torch.save`,
DataLoader worker processes (and batches larger than 4), and torchvision datasets whose files are absent (a stand-in of the same
sample shape, passed through the repository's own transforms).

Child side: imports torch (and torchvision when it is installed). Everything is restored on exit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

STAND_IN_LENGTH = 16
MAX_BATCH = 4  # the first batch is all the run route needs; a smaller one loads faster and never runs empty
LOGGERS = ("wandb", "tensorboard", "tensorboardX", "torch.utils.tensorboard", "mlflow", "comet_ml", "neptune",
           "swanlab", "aim", "clearml")
# torchvision dataset → (image size, PIL mode, number of classes) of a stand-in sample
DATASETS = {
    "ImageFolder": ((256, 256), "RGB", 2), "DatasetFolder": ((256, 256), "RGB", 2), "ImageNet": ((256, 256), "RGB", 1000),
    "CIFAR10": ((32, 32), "RGB", 10), "CIFAR100": ((32, 32), "RGB", 100), "MNIST": ((28, 28), "L", 10),
    "FashionMNIST": ((28, 28), "L", 10), "KMNIST": ((28, 28), "L", 10), "SVHN": ((32, 32), "RGB", 10),
    "STL10": ((96, 96), "RGB", 10), "CelebA": ((178, 218), "RGB", 2),
}


@contextlib.contextmanager
def neutralised(notes: list[str]) -> Iterator[None]:
    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        if hasattr(owner, name):
            patches.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)

    try:
        _no_cuda(patch)
        _no_distributed(patch, notes)
        patch(torch, "compile", _no_compile)
        patch(torch, "save", lambda *args, **kwargs: None)
        patch(torch.hub, "list", _offline_hub_list(notes))
        _no_workers(patch)
        _dataset_stand_ins(patch, notes)
        stubbed = _stub_loggers()
        yield
    finally:
        if _StubModule.used:
            notes.append(f"experiment loggers replaced by stand-ins that do nothing: {', '.join(sorted(_StubModule.used))}")
            _StubModule.used.clear()
        for owner, name, value in reversed(patches):
            setattr(owner, name, value)
        for name in stubbed:
            sys.modules.pop(name, None)


class _Anything:
    """Every attribute, call and item of a logger stub: itself. `writer.add_scalar(...)` does nothing."""

    def __getattr__(self, name: str) -> _Anything:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Anything:
        return self

    def __getitem__(self, key: Any) -> _Anything:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> _Anything:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _StubModule(types.ModuleType):
    used: set[str] = set()  # the stubs the script touched, for the report

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        _StubModule.used.add(self.__name__)
        return _Anything()


def _stub_loggers() -> list[str]:
    """Experiment loggers that are not installed get stand-ins, so that a script importing one runs on
    (installed ones run offline: WANDB_MODE=disabled). `torch.utils.tensorboard` needs `tensorboard`."""
    import importlib.machinery

    installed = {name for name in LOGGERS if "." not in name and importlib.util.find_spec(name) is not None}
    stubbed = []
    for name in LOGGERS:
        needs = "tensorboard" if name == "torch.utils.tensorboard" else name
        if name in sys.modules or needs in installed:
            continue
        module = _StubModule(name)
        module.__path__ = []  # a package, so `from wandb.sdk import x` works too
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        sys.modules[name] = module
        stubbed.append(name)
    return stubbed


def _no_cuda(patch: Callable[[Any, str, Any], None]) -> None:
    # Scripts that refuse to train without a GPU see one; every move to it stays on the CPU (or meta).
    patch(torch.cuda, "is_available", lambda: True)
    patch(torch.cuda, "device_count", lambda: 1)
    for name in ("set_device", "synchronize", "empty_cache", "reset_peak_memory_stats", "manual_seed", "manual_seed_all"):
        patch(torch.cuda, name, lambda *args, **kwargs: None)
    patch(torch.cuda, "max_memory_allocated", lambda *args, **kwargs: 0)
    patch(torch.cuda, "get_device_name", lambda *args, **kwargs: "none (repo-reader trace)")
    patch(torch.cuda, "current_device", lambda: 0)
    patch(torch.cuda, "get_device_capability", lambda *args, **kwargs: (8, 0))
    patch(torch.cuda, "get_device_properties", lambda *args, **kwargs: types.SimpleNamespace(
        name="none (repo-reader trace)", major=8, minor=0, total_memory=80 * 2**30, multi_processor_count=108))
    patch(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
                 "ByteTensor", "BoolTensor"):
        patch(torch.cuda, name, getattr(torch, name))  # `torch.cuda.FloatTensor if cuda else ...`
    patch(nn.Module, "cuda", lambda self, *args, **kwargs: self)
    patch(torch.Tensor, "cuda", lambda self, *args, **kwargs: self)
    module_to, tensor_to = nn.Module.to, torch.Tensor.to

    def to_module(self: nn.Module, *args: Any, **kwargs: Any) -> nn.Module:
        _, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)  # devices are ignored: parameters stay on meta
        return module_to(self, dtype) if dtype is not None and dtype.is_floating_point else self

    def to_tensor(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        args = tuple(_cpu_for_cuda(arg) for arg in args)
        kwargs = {key: _cpu_for_cuda(value) for key, value in kwargs.items()}
        return tensor_to(self, *args, **kwargs)

    patch(nn.Module, "to", to_module)
    patch(torch.Tensor, "to", to_tensor)


def _cpu_for_cuda(value: Any) -> Any:
    if isinstance(value, torch.device) and value.type == "cuda":
        return torch.device("cpu")
    if isinstance(value, str) and value.startswith("cuda"):
        return "cpu"
    if isinstance(value, int) and not isinstance(value, bool):
        return "cpu"  # `.to(local_rank)`
    return value


def _no_distributed(patch: Callable[[Any, str, Any], None], notes: list[str]) -> None:
    import torch.distributed as dist

    def init_process_group(*args: Any, **kwargs: Any) -> None:
        notes.append("torch.distributed.init_process_group was skipped: the script runs as one process")

    patch(dist, "init_process_group", init_process_group)
    patch(dist, "is_initialized", lambda: False)
    patch(dist, "barrier", lambda *args, **kwargs: None)
    patch(dist, "get_world_size", lambda *args, **kwargs: 1)
    patch(dist, "get_rank", lambda *args, **kwargs: 0)
    for name in ("broadcast", "all_reduce", "reduce", "broadcast_object_list"):  # one process: already in place
        patch(dist, name, lambda *args, **kwargs: None)
    patch(dist, "all_gather", _gather_one)
    patch(dist, "all_gather_object", _gather_one)
    patch(dist, "new_group", lambda *args, **kwargs: None)
    patch(torch.nn.parallel, "DistributedDataParallel", _SingleProcess)
    patch(torch.nn.parallel.distributed, "DistributedDataParallel", _SingleProcess)  # `from ...distributed import`
    patch(torch.nn, "DataParallel", _SingleProcess)


def _gather_one(outputs: list[Any], value: Any, *args: Any, **kwargs: Any) -> None:
    """`all_gather` in a world of one: every slot gets this process's value."""
    for index in range(len(outputs)):
        if isinstance(outputs[index], torch.Tensor) and isinstance(value, torch.Tensor):
            outputs[index].copy_(value)
        else:
            outputs[index] = value


class _SingleProcess(nn.Module):
    """DistributedDataParallel/DataParallel in one process: the wrapped model, as `.module`."""

    def __init__(self, module: nn.Module, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)


def _offline_hub_list(notes: list[str]) -> Callable[..., list[str]]:
    def hub_list(repo: str, *args: Any, **kwargs: Any) -> list[str]:
        notes.append(f"torch.hub.list({repo!r}) needs the network: an empty list was returned")
        return []

    return hub_list


def _no_compile(model: Any = None, *args: Any, **kwargs: Any) -> Any:
    return model if model is not None else (lambda function: function)


def _no_workers(patch: Callable[[Any, str, Any], None]) -> None:
    from torch.utils.data import DataLoader

    original = DataLoader.__init__

    def init(self: DataLoader, *args: Any, **kwargs: Any) -> None:  # type: ignore[type-arg]
        kwargs.update(num_workers=0, pin_memory=False, persistent_workers=False)
        if len(args) > 1 and isinstance(args[1], int):  # `DataLoader(dataset, 512, ...)`
            args = (args[0], min(args[1], MAX_BATCH), *args[2:])
        elif isinstance(kwargs.get("batch_size"), int):
            kwargs["batch_size"] = min(kwargs["batch_size"], MAX_BATCH)
        kwargs.pop("prefetch_factor", None)
        kwargs.pop("pin_memory_device", None)
        original(self, *args, **kwargs)

    patch(DataLoader, "__init__", init)


def _dataset_stand_ins(patch: Callable[[Any, str, Any], None], notes: list[str]) -> None:
    if importlib.util.find_spec("torchvision") is None:
        return
    import torchvision.datasets as datasets
    import torchvision.datasets.folder as folder

    for name, (size, mode, classes) in DATASETS.items():
        original = getattr(datasets, name, None)
        if isinstance(original, type):
            stand_in = _stand_in_class(original, size, mode, classes, notes)
            patch(datasets, name, stand_in)
            patch(folder, name, stand_in)


def _stand_in_class(original: type, size: tuple[int, int], mode: str, classes: int, notes: list[str]) -> type:
    """A subclass that is the real dataset when its files are there, and a stand-in otherwise."""
    signature = inspect.signature(original.__init__)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            original.__init__(self, *args, **kwargs)
            self._stand_in = False
            return
        except Exception as error:  # absent files, a blocked download
            bound = signature.bind_partial(self, *args, **kwargs).arguments
            self._stand_in = True
            self.transform, self.target_transform = bound.get("transform"), bound.get("target_transform")
            names = [str(index) for index in range(classes)]
            targets = [index % classes for index in range(STAND_IN_LENGTH)]
            samples = [(f"stand-in-{index}", target) for index, target in enumerate(targets)]
            self._stand_in_targets = targets
            for attribute, value in (("classes", names), ("class_to_idx", {n: i for i, n in enumerate(names)}),
                                     ("targets", targets), ("samples", samples), ("imgs", samples)):
                with contextlib.suppress(AttributeError):  # MNIST's class_to_idx is a property
                    setattr(self, attribute, value)
            where = bound.get("root", args[0] if args else "")
            notes.append(f"{original.__name__}({str(where)!r}) has no data here "
                         f"({type(error).__name__}); a stand-in of {STAND_IN_LENGTH} random {size[0]}x{size[1]} "
                         f"{mode} images went through the repository's transforms")

    def __getitem__(self: Any, index: int) -> Any:
        if not self._stand_in:
            return original.__getitem__(self, index)
        import numpy as np
        from PIL import Image

        pixels = np.random.default_rng(index).integers(0, 256, (size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8)
        image: Any = Image.fromarray(pixels if mode == "RGB" else pixels[..., 0], mode)
        target: Any = self._stand_in_targets[index % STAND_IN_LENGTH]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self: Any) -> int:
        return STAND_IN_LENGTH if self._stand_in else original.__len__(self)

    return type(original.__name__, (original,), {"__init__": __init__, "__getitem__": __getitem__, "__len__": __len__,
                                                 "__qualname__": original.__qualname__, "__module__": original.__module__})
