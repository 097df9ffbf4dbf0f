"""RR101-RR104: layers that `nn.Module` never registers — kept in plain containers, built in
`forward`, assigned before `super().__init__()`, or in a misspelled `__init__`."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import LintContext, methods, self_attribute
from repo_reader.lint.names import is_layer
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import builds_module, self_assignments
from repo_reader.model import Severity


REGISTERS = ("add_module", "register_module", "setattr", "register_parameter")
PLAIN_CONTAINERS = (ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.DictComp)
STATELESS_SUFFIXES = ("ReLU", "ReLU6", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
                      "Identity", "Flatten", "Unflatten", "Upsample", "PixelShuffle", "PixelUnshuffle",
                      "Pool1d", "Pool2d", "Pool3d", "Hardswish", "Hardsigmoid", "Softplus", "ELU", "LeakyReLU",
                      "Softsign", "Tanhshrink", "Threshold", "Hardtanh", "LogSigmoid", "GLU", "ZeroPad2d",
                      "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad2d", "ReplicationPad2d",
                      "Loss")  # losses hold no trainable state: building one per call costs little


def has_parameters(context: LintContext, node: ast.AST | None) -> bool:
    """Builds a module that may hold parameters or buffers (not an activation, pooling, loss or Dropout)."""
    name = builds_module(context, node)
    return bool(name) and not name.endswith(STATELESS_SUFFIXES + ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"))


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


class LayerInForward(Rule):
    """## What it does
    Finds a layer with parameters or state constructed inside `forward`.

    ## Why is this bad
    A layer built in `forward` is new on every call: its weights are freshly initialised each
    time, never registered, never seen by the optimizer, and never saved. A `Dropout` built there
    stays in training mode after `model.eval()`.

    ## Example
    ```python
    def forward(self, x):
        return nn.Linear(x.shape[-1], 10)(x)
    ```

    ## Use instead
    Build the layer once in `__init__` (`self.head = nn.Linear(dim, 10)`) and call it in `forward`;
    for stateless operations use `torch.nn.functional`.
    """

    code = "RR102"
    name = "layer-in-forward"
    severity = Severity.ERROR
    VALID = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n"
        "    def forward(self, x):\n        return nn.ReLU()(F.relu(self.fc(x)))\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x, y):\n"
        "        return nn.CrossEntropyLoss()(x, y)\n",
    )
    INVALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n"
        "        head = nn.Linear(x.shape[-1], 10)  # expect\n        return head(x)\n",
        "from torch.nn import Dropout, Module\nclass Net(Module):\n    def forward(self, x):\n"
        "        return Dropout(0.1)(x)  # expect\n",
    )
    VALID = VALID + ("import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n"
                     "        if not hasattr(self, 'lazy'):\n            layer = nn.Linear(x.shape[-1], 2)\n"
                     "            self.lazy = layer\n        return self.lazy(x)\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        for _, node in context.module_classes():
            forward = methods(node).get("forward")
            if forward is None:
                continue
            registered = _registered_in(forward)
            for call in ast.walk(forward):
                name = builds_module(context, call)
                if id(call) in registered:
                    continue
                if name and not name.endswith(STATELESS_SUFFIXES) and (is_layer(name) or name.startswith("torch.")):
                    yield Hit(call, f"`{name.rsplit('.', 1)[-1]}` is built inside forward: it is re-initialised on "
                                    "every call and its parameters are never registered or trained; build it in "
                                    "__init__")


def _registered_in(method: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    """Calls whose module ends up on `self` (`self.x = nn.Linear(...)`, or through a local): registered."""
    to_self = {dotted_name(value) for name, value, _ in self_assignments(method.body)}
    found = set()
    for node in ast.walk(method):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = {dotted_name(target) for target in node.targets}
            if any(name.startswith("self.") for name in names) or names & to_self:
                found.add(id(node.value))
    return found


def dotted_name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else f"self.{self_attribute(node)}" if self_attribute(node) else ""


def _init_calls(method: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    return [node for node in ast.walk(method) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and (node.func.attr == "__init__" or is_misspelled_init(node.func.attr))]  # RR104 reports a misspelling


class AssignBeforeSuperInit(Rule):
    """## What it does
    Finds an `nn.Module` whose `__init__` assigns a submodule or parameter before calling
    `super().__init__()`, or never calls it.

    ## Why is this bad
    `nn.Module.__setattr__` needs the registries that `Module.__init__` creates: the assignment
    raises `AttributeError: cannot assign module before Module.__init__() call`.

    ## Example
    ```python
    def __init__(self):
        self.fc = nn.Linear(4, 2)
        super().__init__()
    ```

    ## Use instead
    Call `super().__init__()` first.
    """

    code = "RR103"
    name = "assign-before-super-init"
    severity = Severity.ERROR
    VALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n        self.n = n\n"
        "        super().__init__()\n        self.fc = nn.Linear(n, 2)\n",
    )
    INVALID = (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        self.fc = nn.Linear(4, 2)  # expect\n        super().__init__()\n",
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        self.fc = nn.Linear(4, 2)  # expect\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for info, node in context.module_classes():
            init = methods(node).get("__init__")
            if init is None:
                continue
            calls = _init_calls(init)
            first = min((call.lineno for call in calls), default=None)
            for name, value, statement in self_assignments(init.body):
                is_parameter = isinstance(value, ast.Call) and context.call_name(value).endswith(".Parameter")
                if not (builds_module(context, value) or is_parameter):
                    continue
                if first is None:
                    yield Hit(statement, f"`self.{name}` is assigned but `__init__` never calls "
                                         "`super().__init__()`: the assignment raises AttributeError")
                    break
                if statement.lineno < first:
                    yield Hit(statement, f"`self.{name}` is assigned before `super().__init__()` (line {first}): "
                                         "nn.Module raises AttributeError; call super().__init__() first")


MISSPELLINGS = frozenset({"__int__", "__inti__", "__innit__", "__iniit__", "__intit__", "__init___", "___init__",
                          "_init_", "__init", "init__", "__init_", "_init__", "__inIt__", "__Init__", "__intt__"})
MISSPELLED = re.compile(r"_+(?:init|int|inti|innit|iniit|intit|intt|initt)_+", re.IGNORECASE)


def is_misspelled_init(name: str) -> bool:
    """`___init___`, `__int__`, `_init_`, ...: underscores around a misspelt `init`, and not `__init__`."""
    return name != "__init__" and (name in MISSPELLINGS or bool(MISSPELLED.fullmatch(name)))


def _super_init_call(call: ast.Call) -> str | None:
    """The method name of `super().X(...)`, `super(Net, self).X(...)` or `nn.Module.X(self, ...)`."""
    if not isinstance(call.func, ast.Attribute):
        return None
    owner = call.func.value
    if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
        return call.func.attr
    if isinstance(owner, (ast.Name, ast.Attribute)) and call.args and isinstance(call.args[0], ast.Name) and \
            call.args[0].id == "self":
        return call.func.attr
    return None


class MisspelledInit(Rule):
    """## What it does
    Finds an `nn.Module` subclass with a method whose name is a misspelling of `__init__`
    (`__int__`, `___init___`), and a `super().___init___()` call that misspells the parent's.

    ## Why is this bad
    The misspelled method never runs: the layers it builds do not exist, and the first
    `forward` fails with `AttributeError` far away from the typo. A misspelled `super()` call
    raises `AttributeError` at once, or `nn.Module.__init__` never runs and the first layer
    assignment fails.

    ## Example
    ```python
    class Net(nn.Module):
        def __int__(self):
            super().__init__()
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
    ```
    """

    code = "RR104"
    name = "misspelled-init"
    severity = Severity.ERROR
    confidence = 95
    VALID = ("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "    def _init_weights(self):\n        pass\n",
             "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "    def init(self):\n        pass\n    def __int__(self):\n        return 3\n",)
    INVALID = ("import torch.nn as nn\nclass Net(nn.Module):\n    def __int__(self):  # expect\n"
               "        super().__init__()\n",
               "import torch.nn as nn\nclass Net(nn.Module):\n    def ___init___(self, d):  # expect\n"
               "        super().___init___()\n        self.fc = nn.Linear(d, d)\n",
               "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, d):\n"
               "        super().___init___()  # expect\n        self.fc = nn.Linear(d, d)\n",
               "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, d):\n"
               "        nn.Module.__int__(self)  # expect\n        self.fc = nn.Linear(d, d)\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        for _, node in context.module_classes():
            found = methods(node)
            if "__init__" not in found:
                for name, method in found.items():
                    if is_misspelled_init(name):
                        yield Hit(method, f"`{name}` looks like a misspelling of `__init__`: it never runs")
                continue
            for call in ast.walk(found["__init__"]):
                name = _super_init_call(call) if isinstance(call, ast.Call) else None
                if name is not None and is_misspelled_init(name):
                    yield Hit(call, f"`{name}` misspells the parent's `__init__`: nn.Module is never initialised "
                                    "and the first layer assignment raises AttributeError")


RULES = [PlainContainerLayers, LayerInForward, AssignBeforeSuperInit, MisspelledInit]
