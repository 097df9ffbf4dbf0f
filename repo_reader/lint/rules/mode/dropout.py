"""RR201: functional dropout that ignores the module's train/eval mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext, keyword
from repo_reader.lint.flow import walk_local
from repo_reader.lint.names import FUNCTIONAL_DROPOUT
from repo_reader.lint.rule import Hit, Rule
from repo_reader.model import Severity


class FunctionalDropoutMode(Rule):
    """## What it does
    Finds `F.dropout` (and `dropout1d/2d/3d`, `alpha_dropout`) called inside an `nn.Module`
    without `training=self.training`.

    ## Why is this bad
    The functional form does not know the module's mode: `F.dropout` defaults to
    `training=True`, so it keeps dropping activations after `model.eval()`; `alpha_dropout`
    defaults to `False`, so it never drops at all.

    ## Example
    ```python
    x = F.dropout(x, p=0.1)
    ```

    ## Use instead
    ```python
    x = F.dropout(x, p=0.1, training=self.training)
    ```
    """

    code = "RR201"
    name = "functional-dropout-mode"
    severity = Severity.ERROR
    fix_kind = "add-training-argument"
    VALID = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
        "    def forward(self, x):\n        return F.dropout(x, 0.1, self.training)\n",
        "import torch.nn.functional as F\ndef mc_dropout(x):\n    return F.dropout(x, 0.1)\n",
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
        "    def forward(self, x):\n        return F.dropout(x, 0.5, training=True)  # deliberate MC dropout\n",
    )
    INVALID = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
        "    def forward(self, x):\n        return F.dropout(x, p=0.1)  # expect\n",
        "import torch\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
        "        return torch.nn.functional.dropout2d(x)  # expect\n",
    )
    FIXES = (
        ("import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
         "    def forward(self, x):\n        return F.dropout(x, p=0.1)\n",
         "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n"
         "    def forward(self, x):\n        return F.dropout(x, p=0.1, training=self.training)\n"),
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for _, cls in context.module_classes():
            for item in cls.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield from self._in_method(context, item)

    def _in_method(self, context: LintContext, method: FunctionNode) -> Iterator[Hit]:
        has_self = bool(method.args.args) and method.args.args[0].arg == "self"
        for call in walk_local(method.body):
            if not isinstance(call, ast.Call):
                continue
            name = context.call_name(call)
            if name not in FUNCTIONAL_DROPOUT or any(k.arg is None for k in call.keywords):
                continue
            given = keyword(call, "training", FUNCTIONAL_DROPOUT[name])
            short = name.rsplit(".", 1)[-1]
            if given is None:
                effect = "never drops anything" if "alpha" in short else "keeps dropping after model.eval()"
                yield Hit(call, f"`F.{short}` without `training=self.training` {effect}",
                          self.fix_kind if has_self else None)
            # An explicit `training=True` is usually deliberate (MC dropout); `--dynamic` (RR251) shows its effect.


RULES = [FunctionalDropoutMode]
