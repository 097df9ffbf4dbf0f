"""RR405-RR406: optimizers that hold parameters later frozen, or miss trainable submodules."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext, methods
from repo_reader.lint.flow import root_name, scopes, walk_local
from repo_reader.lint.names import is_optimizer
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import builds_module, self_assignments
from repo_reader.lint.rules.structure.registration import STATELESS_SUFFIXES
from repo_reader.model import Severity
from repo_reader.scan.collect import dotted


def _optimizers(context: LintContext, scope: FunctionNode | ast.Module) -> list[ast.Call]:
    if not context.mentions("optim"):
        return []
    return [n for n in walk_local(scope.body) if isinstance(n, ast.Call) and is_optimizer(context.call_name(n))]


def _params_argument(call: ast.Call) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == "params":
            return item.value
    return call.args[0] if call.args else None


class OptimizerHoldsFrozen(Rule):
    """## What it does
    Finds parameters frozen (`requires_grad = False`) after the optimizer that holds them was built.

    ## Why is this bad
    The optimizer keeps the frozen tensors in its parameter groups: weight decay and momentum
    state may still move them, they cost optimizer memory, and the freeze reads as if it took
    effect when the optimizer was made.

    ## Example
    ```python
    optimizer = AdamW(model.parameters())
    for p in model.backbone.parameters():
        p.requires_grad = False
    ```

    ## Use instead
    Freeze first, then build the optimizer from the trainable parameters:
    `AdamW(p for p in model.parameters() if p.requires_grad)`.
    """

    code = "RR405"
    name = "optimizer-holds-frozen"
    severity = Severity.WARNING
    VALID = ("import torch\ndef setup(model):\n    for p in model.backbone.parameters():\n"
             "        p.requires_grad = False\n    return torch.optim.AdamW(p for p in model.parameters() if p.requires_grad)\n",)
    INVALID = ("import torch\ndef setup(model):\n    opt = torch.optim.AdamW(model.parameters())\n"
               "    model.backbone.requires_grad_(False)  # expect\n    return opt\n",
               "import torch\ndef setup(model):\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
               "    for p in model.backbone.parameters():\n        p.requires_grad = False  # expect\n    return opt\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        if not context.mentions("requires_grad"):
            return
        for _, scope in scopes(context):
            optimizers = _optimizers(context, scope)
            for optimizer in optimizers:
                argument = _params_argument(optimizer)
                roots = {root_name(n) for n in ast.walk(argument) if isinstance(n, ast.Call)} - {""} if argument else set()
                for freeze in self._freezes(scope, roots):
                    rebuilt = any(other.lineno > freeze.lineno for other in optimizers)
                    if freeze.lineno > optimizer.lineno and not rebuilt:
                        yield Hit(freeze, "parameters are frozen after the optimizer holding them was built; freeze "
                                          "first and pass only trainable parameters")

    def _freezes(self, scope: FunctionNode | ast.Module, roots: set[str]) -> Iterator[ast.AST]:
        aliases = set(roots)
        for node in walk_local(scope.body):
            if isinstance(node, ast.For) and root_name(node.iter) in roots and isinstance(node.target, ast.Name):
                aliases.add(node.target.id)
        for node in walk_local(scope.body):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False:
                if any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" and root_name(t) in aliases
                       for t in node.targets):
                    yield node
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "requires_grad_" and root_name(node.func.value) in aliases and \
                    node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
                yield node


class OptimizerOnSubmodule(Rule):
    """## What it does
    Finds an optimizer built on one submodule (`model.head.parameters()`) of a model that has other
    trainable submodules, none of which is frozen or given to another optimizer.

    ## Why is this bad
    The rest of the model computes gradients that nothing applies: it never trains, yet costs
    the backward pass. Usually `model.parameters()` was meant.

    ## Example
    ```python
    model = Net()               # has .encoder and .head
    opt = SGD(model.head.parameters(), lr=0.1)
    ```

    ## Use instead
    `SGD(model.parameters(), lr=0.1)`, or freeze the other parts explicitly
    (`model.encoder.requires_grad_(False)`).
    """

    code = "RR406"
    name = "optimizer-on-submodule"
    severity = Severity.WARNING
    _NET2 = ("import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
             "        super().__init__()\n        self.encoder = nn.Linear(4, 4)\n        self.head = nn.Linear(4, 2)\n")
    VALID = (_NET2 + "def setup():\n    model = Net()\n    model.encoder.requires_grad_(False)\n"
             "    return torch.optim.SGD(model.head.parameters(), lr=0.1)\n",
             _NET2 + "def setup():\n    model = Net()\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n")
    INVALID = (_NET2 + "def setup():\n    model = Net()\n"
               "    return torch.optim.SGD(model.head.parameters(), lr=0.1)  # expect\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        if context.mentions("requires_grad") or not context.mentions("optim"):
            return
        for _, scope in scopes(context):
            optimizers = _optimizers(context, scope)
            if len(optimizers) != 1:
                continue
            argument = _params_argument(optimizers[0])
            if not (isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute)
                    and argument.func.attr == "parameters" and isinstance(argument.func.value, ast.Attribute)
                    and isinstance(argument.func.value.value, ast.Name)):
                continue
            variable, part = argument.func.value.value.id, argument.func.value.attr
            others = self._other_parts(context, scope, variable, part)
            if others:
                yield Hit(optimizers[0], f"the optimizer gets only `{variable}.{part}` but `{variable}` also has "
                                         f"{', '.join(others)}: they never train")

    def _other_parts(self, context: LintContext, scope: FunctionNode | ast.Module, variable: str, part: str
                     ) -> list[str]:
        cls = ""
        for node in walk_local(scope.body):
            if isinstance(node, ast.Assign) and [dotted(t) for t in node.targets] == [variable]:
                cls = builds_module(context, node.value)
        found = context.repo.definition(cls) if cls in context.repo.classes.classes else None
        if found is None or not isinstance(found[1], ast.ClassDef):
            return []
        module, node = found
        init = methods(node).get("__init__")
        parts = [name for name, value, _ in self_assignments(init.body) if (built := builds_module(context, value, module))
                 and not built.endswith(STATELESS_SUFFIXES)] if init else []
        return [f"`{name}`" for name in parts if name != part] if part in parts else []




RULES = [OptimizerHoldsFrozen, OptimizerOnSubmodule]
