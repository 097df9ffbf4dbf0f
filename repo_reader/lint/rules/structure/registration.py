"""RR102-RR104: layers that `nn.Module` never registers — built in `forward`, assigned before
`super().__init__()`, or in a misspelled `__init__` (RR101, plain containers, is in `containers`)."""

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


RULES = [LayerInForward, AssignBeforeSuperInit, MisspelledInit]
