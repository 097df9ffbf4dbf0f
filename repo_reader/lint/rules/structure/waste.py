"""RR105-RR106: parameters that exist but do nothing — submodules `forward` never uses, and a
bias that the following BatchNorm cancels."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import (
    LintContext, RepoView, has_star_kwargs, is_constant, keyword, methods, self_attribute,
)
from repo_reader.lint.names import BATCHNORM_LAYERS, BIASED_LAYERS
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import self_assignments
from repo_reader.lint.rules.structure.registration import has_parameters
from repo_reader.lint.usage import Usage
from repo_reader.model import Severity


class UnusedSubmodule(Rule):
    """## What it does
    Finds a submodule assigned in `__init__` that nothing ever reads: not `forward`, not any other
    method of the class or its subclasses, and no code elsewhere in the repository.

    ## Why is this bad
    Its parameters are counted, saved and handed to the optimizer but never get a gradient.
    Under DistributedDataParallel this raises "Expected to have finished reduction" unless
    `find_unused_parameters=True`, which slows every step. Often it is a leftover of an edit.

    ## Example
    ```python
    self.proj = nn.Linear(dim, dim)   # forward never uses self.proj
    ```

    ## Use instead
    Remove the layer, or call it in `forward`.
    """

    code = "RR105"
    name = "unused-submodule"
    severity = Severity.WARNING
    needs_usage = True
    VALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.aux = nn.Linear(4, 1)\n"
        "    def forward(self, x):\n        return self.fc(x)\n    def loss(self, x):\n        return self.aux(x).mean()\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n    def forward(self, x):\n        return getattr(self, 'fc')(x)\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.layer0 = nn.Linear(4, 4)\n        self.layer1 = nn.Linear(4, 4)\n    def forward(self, x):\n"
        "        for i in range(2):\n            x = getattr(self, f'layer{i}')(x)\n        return x\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.gate = nn.Linear(4, 4)\n    def forward(self, x):\n"
        "        penalty = sum(p.pow(2).sum() for p in self.parameters())\n        return self.fc(x), penalty\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.norm = nn.LayerNorm(4)\n    def forward(self, x):\n"
        "        for m in self.modules():\n            x = m(x) if isinstance(m, nn.LayerNorm) else x\n"
        "        return self.fc(x)\n",
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.proj = nn.Linear(4, 4)\n    def forward(self, x):\n"
        "        return F.linear(x, self.proj.weight)\n",
        "import torch.nn as nn\nclass Scaffold(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n    def forward(self, x):\n        # only its parameters matter here\n"
        "        ...\n",
    )
    QUIET = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        # never read by forward: kept so that the checkpoint loads\n"
        "        self.aux_head = nn.Linear(4, 4)\n    def forward(self, x):\n        return self.fc(x)\n",
    )
    INVALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.unused = nn.Linear(4, 4)  # expect\n"
        "    def forward(self, x):\n        return self.fc(x)\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for info, node in context.module_classes():
            init, forward = methods(node).get("__init__"), methods(node).get("forward")
            if init is None or forward is None or _is_stub(forward):
                continue  # a stub forward (`...`, a test's scaffold) uses nothing yet
            documented = DELIBERATE.search(ast.get_docstring(node) or "") or \
                DELIBERATE.search(_comments_above(context, init.lineno - len(init.decorator_list)))
            for name, value, statement in self_assignments(init.body):
                if has_parameters(context, value):
                    deliberate = documented or DELIBERATE.search(_comments_above(context, statement.lineno))
                    yield Hit(statement, f"submodule `self.{name}` is built in __init__ but never used by forward "
                                         "or any other method: its parameters never get a gradient",
                              key=(info.qualname, name), confidence=35 if deliberate else None)

    def keep(self, key: tuple[str, ...], usage: Usage, repo: RepoView) -> bool:
        owner, name = key
        if name in usage.other_reads or name in usage.strings:
            return False
        family = {owner} | repo.descendants(owner) | set(repo.classes.mro(owner))
        return not any(name in usage.self_reads.get(cls, ()) or cls in usage.generic for cls in family)


DELIBERATE = re.compile(r"checkpoint|unused|not used|never (?:read|used)|compatib|verbatim|Copied from", re.IGNORECASE)


def _comments_above(context: LintContext, line: int) -> str:
    """The comment lines right above `line` (1-based): where an author says a layer is kept on purpose."""
    found = []
    index = line - 2
    while index >= 0 and context.lines[index].strip().startswith("#"):
        found.append(context.lines[index])
        index -= 1
    return "\n".join(found)


def _is_stub(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of only a docstring, `...`, `pass` or `raise NotImplementedError`."""
    return all(isinstance(item, ast.Pass) or isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)
               or isinstance(item, ast.Raise) for item in method.body)


def _keeps_bias(context: LintContext, call: ast.Call) -> bool:
    name = context.call_name(call)
    if name not in BIASED_LAYERS or has_star_kwargs(call):  # `**kwargs` may carry bias=False
        return False
    position = 2 if name.endswith("Linear") else 7
    bias = keyword(call, "bias", position)
    return bias is None or is_constant(bias, True)


class BiasBeforeBatchNorm(Rule):
    """## What it does
    Finds a convolution or linear layer with a bias whose output goes straight into BatchNorm.

    ## Why is this bad
    BatchNorm subtracts the per-channel mean, which removes any constant the layer added: the
    bias is wasted parameters and wasted compute, and its gradient is always zero.

    ## Example
    ```python
    nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))
    ```

    ## Use instead
    ```python
    nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64))
    ```
    """

    code = "RR106"
    name = "bias-before-batchnorm"
    severity = Severity.INFO
    VALID = (
        "import torch.nn as nn\nblock = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8))\n",
        "import torch.nn as nn\nblock = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.BatchNorm2d(8))\n",
    )
    VALID = VALID + (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, bn):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n        if bn:\n            self.norm = nn.BatchNorm2d(8)\n"
        "        else:\n            self.norm = nn.Identity()\n    def forward(self, x):\n"
        "        return self.norm(self.conv(x))\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, bn):\n        super().__init__()\n"
        "        self.use_bn = bn\n        self.conv = nn.Conv2d(3, 8, 3)\n        self.bn = nn.BatchNorm2d(8)\n"
        "    def forward(self, x):\n        if self.use_bn:\n            return self.bn(self.conv(x))\n"
        "        return self.conv(x)\n",
    )
    INVALID = (
        "import torch.nn as nn\nblock = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))  # expect\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)  # expect\n        self.bn = nn.BatchNorm2d(8)\n"
        "    def forward(self, x):\n        return self.bn(self.conv(x))\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        if not context.mentions("BatchNorm"):
            return
        for call in ast.walk(context.tree) if context.mentions("Sequential") else ():
            if isinstance(call, ast.Call) and context.call_name(call) == "torch.nn.Sequential":
                for first, second in zip(call.args, call.args[1:]):
                    if isinstance(first, ast.Call) and _keeps_bias(context, first) and \
                            context.call_name(second) in BATCHNORM_LAYERS:
                        yield self._hit(context, first)
        for _, node in context.module_classes():
            yield from self._in_forward(context, node)

    def _in_forward(self, context: LintContext, node: ast.ClassDef) -> Iterator[Hit]:
        init, forward = methods(node).get("__init__"), methods(node).get("forward")
        if init is None or forward is None:
            return
        assignments = self_assignments(init.body)
        biased = {name: value for name, value, _ in assignments
                  if isinstance(value, ast.Call) and _keeps_bias(context, value)}
        # a norm in every branch that assigns it: `self.norm = BatchNorm2d(c) if bn else Identity()` is not one
        norms = {name for name, _, _ in assignments
                 if all(context.call_name(value) in BATCHNORM_LAYERS for other, value, _ in assignments if other == name)}
        uses: dict[str, list[bool]] = {}  # each call of a biased layer in the class: does it feed a norm?
        fed = {id(call.args[0]) for call in ast.walk(node) if isinstance(call, ast.Call)
               and self_attribute(call.func) in norms and len(call.args) == 1}
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and self_attribute(call.func) in biased:
                uses.setdefault(self_attribute(call.func) or "", []).append(id(call) in fed)
        for name, feeds in uses.items():
            if feeds and all(feeds):  # a branch that skips the norm needs the bias
                yield self._hit(context, biased[name])

    def _hit(self, context: LintContext, call: ast.Call) -> Hit:
        kind = context.call_name(call).rsplit(".", 1)[-1]
        return Hit(call, f"`{kind}` has a bias but feeds BatchNorm, which cancels it: pass bias=False")



RULES = [UnusedSubmodule, BiasBeforeBatchNorm]
