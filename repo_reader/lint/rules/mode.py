"""RR2xx: train/eval mode — dropout that ignores the mode, evaluation in training mode or with grad."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext, keyword
from repo_reader.lint.evaluation import (
    EVAL_NAME, caller_function, callers, eval_before, grad_off_ranges, has_backward, inside, is_stochastic,
    model_calls, repo_has_stochastic_model,
)
from repo_reader.lint.flow import is_mode_call, is_untrained_copy, loop_effects, owner_of, receiver, scopes, walk_local
from repo_reader.lint.names import FUNCTIONAL_DROPOUT
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import is_test_file
from repo_reader.model import Severity

_NET = ("import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.drop = nn.Dropout(0.5)\n"
        "    def forward(self, x):\n        return self.fc(self.drop(x))\n")


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


def is_evaluation(name: str, function: FunctionNode | ast.Module, context: LintContext) -> bool:
    """An evaluation function: named like one, or a no_grad loop with no backward."""
    short = name.rsplit(".", 1)[-1]
    owner = owner_of(context, name)
    if owner is not None and context.repo.classes.classes[owner].framework:
        return False  # a model's own methods: whoever calls the model sets its mode (Lightning does)
    if EVAL_NAME.match(short):
        return True
    if not context.mentions("no_grad") and not context.mentions("inference_mode"):
        return False
    ranges = grad_off_ranges(context, function)
    return bool(ranges) and any(isinstance(node, (ast.For, ast.While)) and inside(node.lineno, ranges)
                                for node in walk_local(function.body))


def _evaluation_scopes(context: LintContext) -> Iterator[tuple[str, FunctionNode]]:
    if is_test_file(context.path):
        return
    for name, function in context.functions:
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                is_evaluation(name, function, context) and not has_backward(function):
            yield name, function


class EvalWithoutEvalMode(Rule):
    """## What it does
    Finds evaluation code (a `no_grad` loop without backward, or a function named eval, validate,
    test or predict) that runs a model with Dropout or BatchNorm without `model.eval()` before it,
    neither in the function nor in any of its callers.

    ## Why is this bad
    In training mode Dropout zeroes random activations and BatchNorm normalises with the batch's
    statistics and updates its running averages: the metrics are noisy and too low, and evaluating
    changes the model.

    ## Example
    ```python
    def evaluate(model, loader):
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum()
    ```

    ## Use instead
    Call `model.eval()` before the loop (and `model.train()` before training resumes).
    """

    code = "RR202"
    name = "eval-without-eval-mode"
    severity = Severity.WARNING
    VALID = (
        _NET + "def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n"
        "        for x, y in loader:\n            model(x)\n",
        _NET + "def evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            model(x)\ndef main(loader):\n    model = Net()\n    model.eval()\n    evaluate(model, loader)\n",
    )
    INVALID = (
        _NET + "def evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            model(x)  # expect\n",
        _NET + "def run(loader):\n    net = Net()\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            net(x)  # expect\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for name, function in _evaluation_scopes(context):
            calls = model_calls(context, function)
            if not calls or any(isinstance(n, ast.Call) and is_mode_call(n) for n in walk_local(function.body)):
                continue
            first = min(calls, key=lambda call: (call.call.lineno, call.call.col_offset))
            stochastic = is_stochastic(context.repo, context, first.cls) if first.cls else \
                repo_has_stochastic_model(context)
            if not stochastic or self._caller_sets_eval(context, name):
                continue
            yield Hit(first.call, f"evaluation runs `{first.name}` in training mode: Dropout/BatchNorm behave as in "
                                  f"training; call `{first.name}.eval()` first")

    def _caller_sets_eval(self, context: LintContext, name: str) -> bool:
        for module, scope, line in callers(context.repo, f"{context.module}.{name}"):
            caller = caller_function(context.repo, module, scope)
            if caller is not None and eval_before(caller, line):
                return True
        return False


class EvalModeNeverReset(Rule):
    """## What it does
    Finds a training loop that switches the model to `.eval()` (directly or in a function it calls)
    and never calls `.train()` before the next training step. A copy that is never trained (an EMA,
    teacher, target or SWA model, by its name) may stay in eval mode.

    ## Why is this bad
    After the first evaluation every later epoch trains in evaluation mode: Dropout is off and
    BatchNorm stops updating its statistics, so the model quietly trains worse.

    ## Example
    ```python
    for epoch in range(epochs):
        for x, y in loader:
            loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad()
        model.eval()
        validate(model)
    ```

    ## Use instead
    Call `model.train()` at the start of each epoch's training phase.
    """

    code = "RR203"
    name = "eval-mode-never-reset"
    severity = Severity.WARNING
    VALID = (
        "def fit(model, opt, loader, epochs):\n    for epoch in range(epochs):\n        model.train()\n"
        "        for x in loader:\n            model(x).sum().backward()\n            opt.step()\n"
        "            opt.zero_grad()\n        model.eval()\n",
        "def fit(model, ema, opt, loader, epochs):\n    model.train()\n    for epoch in range(epochs):\n"
        "        for x in loader:\n            model(x).sum().backward()\n            opt.step()\n"
        "            opt.zero_grad()\n        ema.ema_model.eval()\n",
    )
    INVALID = (
        "def fit(model, opt, loader, epochs):\n    model.train()\n    for epoch in range(epochs):\n"
        "        for x in loader:\n            model(x).sum().backward()\n            opt.step()\n"
        "            opt.zero_grad()\n        model.eval()  # expect\n",
        "def validate(model):\n    model.eval()\n\ndef fit(model, opt, loader, epochs):\n"
        "    for epoch in range(epochs):  # expect\n        for x in loader:\n            model(x).sum().backward()\n"
        "            opt.step()\n            opt.zero_grad()\n        validate(model)\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for name, scope in scopes(context):
            owner = owner_of(context, name) if name else None
            flagged: list[ast.AST] = []
            for loop, effects in loop_effects(context, scope, owner):
                if effects.eval and effects.backward and not effects.train:
                    flagged.append(loop)
            for loop in flagged:
                if any(other is not loop and _contains(loop, other) for other in flagged):
                    continue  # report the innermost loop only
                direct = [n for n in walk_local(loop.body) if isinstance(n, ast.Call) and is_mode_call(n) == "eval"
                          and not is_untrained_copy(receiver(n))]
                yield Hit(direct[0] if direct else loop,
                          "the loop switches to eval mode and never back: later training steps run with Dropout "
                          "off and BatchNorm frozen; call model.train() before training")


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(node is inner for node in ast.walk(outer))


class EvalWithGrad(Rule):
    """## What it does
    Finds evaluation functions (named eval, validate, test, predict, ...) that run a model
    outside `torch.no_grad()` / `torch.inference_mode()`, when no caller turns gradients off.

    ## Why is this bad
    Autograd records the graph of every forward: evaluation uses several times the memory it
    needs and runs slower, and outputs kept for metrics hold the whole graph alive.

    ## Example
    ```python
    def validate(model, loader):
        model.eval()
        for x, y in loader:
            loss += criterion(model(x), y).item()
    ```

    ## Use instead
    Decorate the function with `@torch.no_grad()` (or `@torch.inference_mode()`), or wrap the loop
    in `with torch.no_grad():`.
    """

    code = "RR204"
    name = "eval-with-grad"
    severity = Severity.WARNING
    VALID = (
        "import torch\n@torch.no_grad()\ndef validate(model, loader):\n    model.eval()\n"
        "    for x in loader:\n        model(x)\n",
        "import torch\ndef validate(model, loader):\n    model.eval()\n    for x in loader:\n        model(x)\n"
        "def main(model, loader):\n    with torch.inference_mode():\n        validate(model, loader)\n",
    )
    INVALID = (
        "import torch\ndef validate(model, loader):\n    model.eval()\n    for x in loader:\n"
        "        model(x)  # expect\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for name, function in _evaluation_scopes(context):
            if not EVAL_NAME.match(name.rsplit(".", 1)[-1]):
                continue
            ranges = grad_off_ranges(context, function)
            outside = [call for call in model_calls(context, function) if not inside(call.call.lineno, ranges)]
            if not outside or self._callers_turn_grad_off(context, name):
                continue
            first = outside[0]
            yield Hit(first.call, f"evaluation calls `{first.name}` with autograd on: wrap it in torch.no_grad() or "
                                  "torch.inference_mode()")

    def _callers_turn_grad_off(self, context: LintContext, name: str) -> bool:
        found = callers(context.repo, f"{context.module}.{name}")
        for module, scope, line in found:
            caller = caller_function(context.repo, module, scope)
            if caller is not None and inside(line, grad_off_ranges(context, caller, module)):
                return True
        return False


RULES = [FunctionalDropoutMode, EvalWithoutEvalMode, EvalModeNeverReset, EvalWithGrad]
