"""RR3xx: data loading — DataLoader arguments that conflict, and loaders that starve the GPU."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import LintContext, has_star_kwargs, is_constant, keyword
from repo_reader.lint.datasets import in_memory
from repo_reader.lint.names import DATALOADER_POSITIONAL, DATALOADERS
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import is_test_file
from repo_reader.model import Severity


def dataloader_calls(context: LintContext) -> list[ast.Call]:
    """DataLoader constructions, by resolved name (any DataLoader import spells "DataLoader" in the file)."""
    if not context.mentions("DataLoader"):
        return []
    if "dataloaders" not in context.cache:
        context.cache["dataloaders"] = [node for node in ast.walk(context.tree) if isinstance(node, ast.Call)
                                        and context.call_name(node) in DATALOADERS]
    return context.cache["dataloaders"]  # type: ignore[return-value]


def argument(call: ast.Call, name: str) -> ast.expr | None:
    return keyword(call, name, DATALOADER_POSITIONAL.index(name))


def maybe_none(node: ast.expr | None) -> bool:
    """Whether the value may be None: the literal, or a conditional with a None branch."""
    if node is None or is_constant(node, None):
        return True
    return isinstance(node, ast.IfExp) and (maybe_none(node.body) or maybe_none(node.orelse))


class SamplerWithShuffle(Rule):
    """## What it does
    Finds a `DataLoader` given both a `sampler` and `shuffle=True`.

    ## Why is this bad
    The two are mutually exclusive: the sampler decides the order. PyTorch raises
    `ValueError: sampler option is mutually exclusive with shuffle` when the loader is built.

    ## Example
    ```python
    DataLoader(dataset, sampler=DistributedSampler(dataset), shuffle=True)
    ```

    ## Use instead
    Leave `shuffle` out and let the sampler shuffle (`DistributedSampler(dataset, shuffle=True)`,
    and call `sampler.set_epoch(epoch)` every epoch).
    """

    code = "RR301"
    name = "sampler-with-shuffle"
    severity = Severity.ERROR
    VALID = (
        "from torch.utils.data import DataLoader\nDataLoader(ds, sampler=s, shuffle=False, num_workers=2)\n",
        "from torch.utils.data import DataLoader\nDataLoader(ds, sampler=s, shuffle=s is None, num_workers=2)\n",
    )
    VALID = VALID + (
        "from torch.utils.data import DataLoader, DistributedSampler\ndef loader(ds, distributed):\n"
        "    sampler = DistributedSampler(ds) if distributed else None\n"
        "    return DataLoader(ds, sampler=sampler, shuffle=sampler is None, num_workers=2)\n",
        "from torch.utils.data import DataLoader\ndef loader(ds):\n    sampler = None\n    shuffle = True\n"
        "    return DataLoader(ds, sampler=sampler, shuffle=shuffle, num_workers=2)\n",
    )
    INVALID = (
        "import torch\ntorch.utils.data.DataLoader(ds, sampler=s, shuffle=True, num_workers=2)  # expect\n",
        "from torch.utils.data import DataLoader, DistributedSampler\ndef loader(ds, distributed):\n"
        "    sampler = DistributedSampler(ds) if distributed else None\n    shuffle = True\n"
        "    return DataLoader(  # expect\n        ds,\n        sampler=sampler,\n        shuffle=shuffle,\n"
        "        num_workers=2,\n    )\n",
        "from torch.utils import data\ndata.DataLoader(ds, 32, True, s, num_workers=2)  # expect\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for call in dataloader_calls(context):
            scope = enclosing_scope(context, call)
            sampler = values_of(scope, argument(call, "sampler"))
            shuffle = values_of(scope, argument(call, "shuffle"))
            given = [value for value in sampler if may_be_set(value)]
            if not given or not shuffle or not all(is_constant(value, True) for value in shuffle):
                continue
            always = len(given) == len(sampler) and not any(isinstance(v, ast.IfExp) for v in given)
            yield Hit(call, "DataLoader gets both `sampler` and `shuffle=True`: they are mutually exclusive "
                            f"(ValueError{'' if always else ' whenever the sampler is set'}); let the sampler shuffle",
                      confidence=95 if always else 80)


def may_be_set(node: ast.expr) -> bool:
    """Whether a value may be something other than None (a conditional with one set branch may)."""
    if isinstance(node, ast.IfExp):
        return may_be_set(node.body) or may_be_set(node.orelse)
    return not is_constant(node, None)


def enclosing_scope(context: LintContext, node: ast.AST) -> ast.AST:
    """The innermost function of the file around `node`, else the module."""
    line = getattr(node, "lineno", 0)
    around = [function for _, function in context.functions
              if function.lineno <= line <= (function.end_lineno or function.lineno)]
    return max(around, key=lambda function: function.lineno) if around else context.tree


def values_of(scope: ast.AST, node: ast.expr | None) -> list[ast.expr]:
    """What an argument may be: itself, or for a local name every value assigned to it in the scope
    (`shuffle = True` ... `shuffle=shuffle`). An unknown name stays itself (never None, never True)."""
    if not isinstance(node, ast.Name):
        return [node] if node is not None else []
    assigned = [item.value for item in ast.walk(scope) if isinstance(item, ast.Assign)
                and [getattr(target, "id", None) for target in item.targets] == [node.id]]
    return assigned or [node]


class BatchSamplerConflict(Rule):
    """## What it does
    Finds a `DataLoader` given a `batch_sampler` together with `batch_size`, `shuffle`, `sampler`
    or `drop_last`.

    ## Why is this bad
    A batch sampler already decides batch size, order and the last batch: PyTorch raises
    `ValueError: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler,
    and drop_last`.

    ## Example
    ```python
    DataLoader(dataset, batch_sampler=bucket_sampler, batch_size=32)
    ```

    ## Use instead
    ```python
    DataLoader(dataset, batch_sampler=bucket_sampler)
    ```
    """

    code = "RR302"
    name = "batch-sampler-conflict"
    severity = Severity.ERROR
    VALID = (
        "from torch.utils.data import DataLoader\nDataLoader(ds, batch_sampler=bs, num_workers=4)\n",
        "from torch.utils.data import DataLoader\nDataLoader(ds, batch_size=1, batch_sampler=bs, drop_last=False, "
        "num_workers=4)\n",
        "from torch.utils.data import DataLoader\nDataLoader(ds, batch_size=8, batch_sampler=None, num_workers=4)\n",
    )
    INVALID = (
        "from torch.utils.data import DataLoader\nDataLoader(ds, batch_sampler=bs, batch_size=32, num_workers=4)"
        "  # expect\n",
        "from torch.utils.data import DataLoader\nDataLoader(ds, batch_sampler=bs, shuffle=True, drop_last=True, "
        "num_workers=4)  # expect\n",
    )
    ALLOWED = {"batch_size": (1,), "shuffle": (None, False), "sampler": (None,), "drop_last": (False,)}

    def check(self, context: LintContext) -> Iterator[Hit]:
        for call in dataloader_calls(context):
            if maybe_none(argument(call, "batch_sampler")):
                continue
            clashes = [name for name, allowed in self.ALLOWED.items()
                       if (value := argument(call, name)) is not None and not is_constant(value, *allowed)]
            if clashes:
                names = ", ".join(f"`{name}`" for name in clashes)
                yield Hit(call, f"DataLoader gets `batch_sampler` with {names}: mutually exclusive (ValueError); "
                                "drop them")


class LoaderWithoutWorkers(Rule):
    """## What it does
    Finds a `DataLoader` built without `num_workers` (outside tests).

    ## Why is this bad
    The default, `num_workers=0`, loads and augments every batch in the training process, between
    steps: the accelerator idles while Python decodes images.

    ## Example
    ```python
    DataLoader(train_set, batch_size=64, shuffle=True)
    ```

    ## Use instead
    ```python
    DataLoader(train_set, batch_size=64, shuffle=True, num_workers=4, persistent_workers=True)
    ```
    (write `num_workers=0` explicitly where loading in-process is intended).
    """

    code = "RR303"
    name = "loader-without-workers"
    severity = Severity.INFO
    VALID = ("import torch\nfrom torch.utils.data import DataLoader, Dataset\nclass Random(Dataset):\n"
             "    def __init__(self, n):\n        self.data = torch.randn(n, 4)\n    def __len__(self):\n        return len(self.data)\n"
             "    def __getitem__(self, i):\n        start = i * 2\n        x = self.data[start:start + 2]\n"
             "        return x, self.data[start + 2]\n"
             "class Module:\n    def setup(self):\n        self.train_set = Random(64)\n"
             "    def train_dataloader(self):\n        return DataLoader(self.train_set, batch_size=8)\n",
             "from torch.utils.data import DataLoader\nDataLoader(ds, batch_size=8, num_workers=0)\n",
             "from torch.utils.data import DataLoader, TensorDataset\nDataLoader(TensorDataset(x, y), batch_size=8)\n",
             "from torch.utils.data import DataLoader\nDataLoader(ds, **loader_kwargs)\n")
    INVALID = ("from torch.utils.data import DataLoader\nloader = DataLoader(ds, batch_size=8)  # expect\n",
               "from PIL import Image\nfrom torch.utils.data import DataLoader, Dataset\nclass Images(Dataset):\n"
               "    def __init__(self, paths):\n        self.paths = paths\n    def __getitem__(self, i):\n"
               "        return Image.open(self.paths[i])\nloader = DataLoader(Images(['a.png']), batch_size=8)  # expect\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        if is_test_file(context.path):
            return
        for call in dataloader_calls(context):
            if not has_star_kwargs(call) and argument(call, "num_workers") is None and \
                    not in_memory(context, argument(call, "dataset")):
                yield Hit(call, "DataLoader without `num_workers` loads every batch in the training process; "
                                "set num_workers (or 0 explicitly)")


def moves_batches_to_cuda(context: LintContext) -> bool:
    """The file sends loop data to an accelerator: `.cuda()` or `.to(device)` on a `for` target."""
    if not context.mentions("cuda"):
        return False
    for loop in ast.walk(context.tree):
        if isinstance(loop, ast.For):
            names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
            for call in ast.walk(loop):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                        call.func.attr in ("to", "cuda") and _root(call.func.value) in names:
                    return True
    return False


def _root(node: ast.expr) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


class PinMemoryMissing(Rule):
    """## What it does
    Finds a `DataLoader` without `pin_memory` in a file whose loop sends batches to CUDA.

    ## Why is this bad
    Copies from pageable host memory go through a staging buffer and cannot overlap with
    compute; pinned batches copy faster and asynchronously (with `non_blocking=True`).

    ## Example
    ```python
    loader = DataLoader(ds, batch_size=64, num_workers=4)
    for x, y in loader:
        x = x.cuda()
    ```

    ## Use instead
    ```python
    loader = DataLoader(ds, batch_size=64, num_workers=4, pin_memory=True)
    ```
    """

    code = "RR304"
    name = "pin-memory-missing"
    severity = Severity.INFO
    VALID = ("from torch.utils.data import DataLoader\nloader = DataLoader(ds, num_workers=2, pin_memory=True)\n"
             "for x in loader:\n    x = x.cuda(non_blocking=True)\n",
             "from torch.utils.data import DataLoader\nloader = DataLoader(ds, num_workers=2)\nfor x in loader:\n"
             "    x = x.float()\n")
    INVALID = ("from torch.utils.data import DataLoader\nloader = DataLoader(ds, num_workers=2)  # expect\n"
               "for x, y in loader:\n    x = x.cuda()\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        calls = [call for call in dataloader_calls(context)
                 if not has_star_kwargs(call) and argument(call, "pin_memory") is None]
        if calls and moves_batches_to_cuda(context):
            for call in calls:
                yield Hit(call, "batches go to CUDA but the DataLoader does not pin memory: set pin_memory=True")


RULES = [SamplerWithShuffle, BatchSamplerConflict, LoaderWithoutWorkers, PinMemoryMissing]
