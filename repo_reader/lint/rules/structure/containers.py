"""RR101: layers kept in a plain list, dict or tuple attribute (filled in place, by `.append()` in a
loop, or through a local list), which `nn.Module` never registers."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import LintContext, methods, self_attribute
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import builds_module, self_assignments
from repo_reader.lint.rules.structure.registration import REGISTERS, has_parameters
from repo_reader.model import Severity

PLAIN_CONTAINERS = (ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.DictComp)


class PlainContainerLayers(Rule):
    """## What it does
    Finds layers kept in a plain `list`, `dict` or `tuple` attribute of an `nn.Module`.

    ## Why is this bad
    `nn.Module` registers only attributes that are modules themselves. Layers inside a plain
    container are invisible to `.parameters()`, `.to(device)`, `state_dict()` and `.train()`:
    the optimizer never updates them, they stay on the CPU, and checkpoints silently miss them.

    ## Example
    ```python
    self.blocks = [Block(dim) for _ in range(depth)]
    ```

    ## Use instead
    ```python
    self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])
    ```
    """

    code = "RR101"
    name = "plain-container-layers"
    severity = Severity.ERROR
    fix_kind = "wrap-module-container"
    VALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])\n        self.sizes = [4, 8]\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.layers = [nn.Linear(4, 4), nn.ReLU()]\n        for i, layer in enumerate(self.layers):\n"
        "            self.add_module(f'layer{i}', layer)\n",
        "import torch.nn as nn\nclass Helper:\n    def __init__(self):\n        self.layers = [nn.Linear(4, 4)]\n",
    )
    INVALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.blocks = [nn.Linear(4, 4) for _ in range(3)]  # expect\n",
        "from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.heads = {'a': nn.Linear(4, 2), 'b': nn.Linear(4, 3)}  # expect\n",
        "import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.layers = []  # expect\n        for _ in range(2):\n            self.layers.append(torch.nn.Conv2d(3, 3, 1))\n",
    )
    _BLOCK = ("import torch.nn as nn\nclass Block(nn.Module):\n    def __init__(self, d):\n        super().__init__()\n"
              "        self.fc = nn.Linear(d, d)\n")
    INVALID = INVALID + (
        _BLOCK + "class Net(nn.Module):\n    def __init__(self, depth):\n        super().__init__()\n"
        "        self.blocks = []  # expect\n        for i in range(depth):\n            self.blocks.append(Block(16))\n"
        "    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n        return x\n",
        _BLOCK + "class Net(nn.Module):\n    def __init__(self, depth):\n        super().__init__()\n"
        "        self.blocks = []  # expect\n        for i in range(depth):\n            block = Block(16)\n"
        "            self.blocks.append(block)\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, make_layer, n):\n        super().__init__()\n"
        "        self.layers = []  # expect\n        for _ in range(n):\n            self.layers.append(make_layer())\n"
        "    def cuda(self):\n        for layer in self.layers:\n            layer.cuda()\n        return self\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        layers = []\n        for _ in range(n):\n            layers.append(nn.Linear(8, 8))\n"
        "        self.layers = layers  # expect\n",
    )
    VALID = VALID + (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.sizes = []\n        for i in range(n):\n            self.sizes.append(compute(i))\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.hooks = []\n        for m in self.modules():\n            self.hooks.append(m.register_forward_hook(f))\n"
        "    def close(self):\n        for hook in self.hooks:\n            hook.remove()\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        layers = []\n        for _ in range(n):\n            layers.append(nn.Linear(8, 8))\n"
        "        self.layers = nn.Sequential(*layers)\n",
        "import torch.nn as nn\nclass Pyramid(nn.Module):\n    def __init__(self, scales):\n        super().__init__()\n"
        "        self.blocks = []\n        for i, scale in enumerate(scales):\n            block = nn.Conv2d(8, 8, scale)\n"
        "            self.blocks.append(block)\n            self.add_module(str(i), block)\n",
    )
    FIXES = (
        ("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.blocks = [nn.Linear(4, 4) for _ in range(3)]\n",
         "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])\n"),
        ("from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.heads = {\n            'a': nn.Linear(4, 2),\n        }\n",
         "from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.heads = nn.ModuleDict({\n            'a': nn.Linear(4, 2),\n        })\n"),
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        registers = any(context.mentions(name) for name in REGISTERS)  # else no class can call one
        for info, node in context.module_classes():
            assignments = self_assignments(node.body)
            containers = [(name, value, statement) for name, value, statement in assignments
                          if isinstance(value, PLAIN_CONTAINERS) or isinstance(value, ast.Name)]
            if not containers:
                continue
            rebuilt = {name for name, value, _ in assignments if builds_module(context, value)}
            for name, value, statement in containers:
                if name in rebuilt or registers and _registers_items(node, name, value):
                    continue
                confidence = self._holds_layers(context, node, name, value, statement)
                if confidence is None:
                    continue
                kind = "dict" if isinstance(value, (ast.Dict, ast.DictComp)) else \
                    "tuple" if isinstance(value, ast.Tuple) else "list"
                wrapper = "nn.ModuleDict" if kind == "dict" else "nn.ModuleList"
                fix = self.fix_kind if isinstance(value, PLAIN_CONTAINERS) else None
                yield Hit(value, f"layers in a plain {kind} `self.{name}` are not registered: their parameters "
                                 f"are not trained, moved or saved; use {wrapper}", fix, confidence=confidence)

    def _holds_layers(self, context: LintContext, cls: ast.ClassDef, name: str, value: ast.expr,
                      statement: ast.stmt) -> int | None:
        """The confidence that the container holds layers, or None when it does not."""
        if isinstance(value, ast.Name):  # `layers = []; layers.append(Block()); self.layers = layers`
            method = _enclosing_method(cls, statement)
            return _filled_with_layers(context, method, _local_list_appends(method, value.id), name, cls) \
                if method is not None and _assigned_empty_list(method, value.id) else None
        if isinstance(value, (ast.List, ast.Tuple)):
            if not value.elts:
                return _filled_with_layers(context, cls, _self_list_appends(cls, name), name, cls)
            return 95 if any(has_parameters(context, item) for item in value.elts) else None
        if isinstance(value, ast.Dict):
            return 95 if any(has_parameters(context, item) for item in value.values) else None
        if isinstance(value, ast.ListComp):
            return 95 if has_parameters(context, value.elt) else None
        if isinstance(value, ast.DictComp):
            return 95 if has_parameters(context, value.value) else None
        return None


def _enclosing_method(cls: ast.ClassDef, statement: ast.stmt) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for method in methods(cls).values():
        if any(node is statement for node in ast.walk(method)):
            return method
    return None


def _assigned_empty_list(scope: ast.AST, variable: str) -> bool:
    return any(isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [variable]
               and isinstance(node.value, ast.List) and not node.value.elts for node in ast.walk(scope))


def _added_items(node: ast.AST) -> list[ast.expr]:
    """What an `.append(x)` / `.insert(i, x)` / `.extend([...])` / `+= [...]` adds."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("append", "insert") and node.args:
            return node.args[-1:]
        if node.func.attr == "extend" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
            return list(node.args[0].elts)
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.value, (ast.List, ast.Tuple)):
        return list(node.value.elts)
    return []


def _receiver(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.value
    return node.target if isinstance(node, ast.AugAssign) else None


def _self_list_appends(cls: ast.ClassDef, name: str) -> list[ast.expr]:
    return [item for node in ast.walk(cls) if self_attribute(_receiver(node) or ast.Pass()) == name
            for item in _added_items(node)]


def _local_list_appends(method: ast.AST, variable: str) -> list[ast.expr]:
    return [item for node in ast.walk(method) if isinstance(receiver := _receiver(node), ast.Name)
            and receiver.id == variable for item in _added_items(node)]


def _filled_with_layers(context: LintContext, scope: ast.AST, items: list[ast.expr], name: str,
                        cls: ast.ClassDef) -> int | None:
    """95 when an added item builds a layer (directly or through a local such as `block = Block()`);
    70 when items come from calls of unknown type (a factory, a class passed in) and the class then
    uses the list's items as layers (calls them in forward, or moves them in `cuda()`/`to()`)."""
    built = {target.id for node in ast.walk(scope) if isinstance(node, ast.Assign) and has_parameters(context, node.value)
             for target in node.targets if isinstance(target, ast.Name)}
    if any(has_parameters(context, item) or isinstance(item, ast.Name) and item.id in built for item in items):
        return 95
    if any(isinstance(item, ast.Call) and not builds_module(context, item) for item in items) and \
            _used_as_layers(cls, name):
        return 70
    return None


def _used_as_layers(cls: ast.ClassDef, name: str) -> bool:
    """`for layer in self.name: x = layer(x)` / `layer.cuda()`, or `self.name[i](x)`."""
    for node in ast.walk(cls):
        if isinstance(node, ast.For) and self_attribute(node.iter) == name and isinstance(node.target, ast.Name):
            item = node.target.id
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and (isinstance(call.func, ast.Name) and call.func.id == item or
                                                   isinstance(call.func, ast.Attribute) and call.func.attr in
                                                   ("cuda", "to", "forward") and getattr(call.func.value, "id", "") == item):
                    return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Subscript) and self_attribute(node.func.value) == name:
            return True
    return False


def _registers_items(cls: ast.ClassDef, name: str, value: ast.expr) -> bool:
    """Whether the class registers the container's items itself (`self.add_module(f"l{i}", layer)` in a loop
    over the container, in the loop that fills it, or with it as an argument)."""
    spelled = {f"self.{name}"} | ({value.id} if isinstance(value, ast.Name) else set())
    registering = [call for call in ast.walk(cls) if isinstance(call, ast.Call) and
                   (getattr(call.func, "attr", None) in REGISTERS or getattr(call.func, "id", None) in REGISTERS)]
    if not registering:
        return False
    if any(spelled_name in ast.unparse(call) for call in registering for spelled_name in spelled):
        return True
    inside = {id(call) for call in registering}
    for loop in ast.walk(cls):
        if isinstance(loop, ast.For) and any(id(node) in inside for node in ast.walk(loop)):
            text = ast.unparse(loop)
            if any(spelled_name in text for spelled_name in spelled):
                return True  # loops over the container, or fills it
    return False


RULES = [PlainContainerLayers]
