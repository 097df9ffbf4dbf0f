"""RR203: a training loop that switches to eval mode and never back."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext
from repo_reader.lint.evaluation import grad_off_ranges, inside
from repo_reader.lint.flow import is_mode_call, is_untrained_copy, loop_effects, owner_of, receiver, scopes, walk_local
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.optimisation.steps import optimizer_owners
from repo_reader.model import Severity
from repo_reader.scan.collect import dotted


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
    VALID = VALID + (
        "import torch\ndef train_probe(backbone, head, opt, loader, epochs):\n"
        "    \"\"\"Linear probing: the frozen backbone stays in eval mode.\"\"\"\n    for epoch in range(epochs):\n"
        "        backbone.eval()\n        for x, y in loader:\n"
        "            head(backbone(x)).sum().backward()\n            opt.step()\n            opt.zero_grad()\n",
        "import torch\ndef fit(backbone, head, loader, epochs):\n    opt = torch.optim.SGD(head.parameters(), lr=0.1)\n"
        "    for epoch in range(epochs):\n        backbone.eval()\n        for x, y in loader:\n"
        "            with torch.no_grad():\n                feats = backbone(x)\n"
        "            head(feats).sum().backward()\n            opt.step()\n            opt.zero_grad()\n",
    )
    _CHAIN = ("def apply(loss):\n    loss.backward()\ndef update(loss):\n    apply(loss)\n"
              "def step(model, x):\n    update(model(x).sum())\n")
    INVALID = (  # the same loop, after a function that reaches `update` through a longer chain first
        _CHAIN + "def warmup(model, batches):\n    for x in batches:\n        outer(model, x)\n"
        "def outer(model, x):\n    step(model, x)\n"
        "def fit(model, loader):\n    for x in loader:\n        update(model(x).sum())\n"
        "        model.eval()  # expect\n",
        _CHAIN + "def fit(model, loader):\n    for x in loader:\n        update(model(x).sum())\n"
        "        model.eval()  # expect\n",
    )
    INVALID = INVALID + (
        "def fit(model, opt, loader, epochs):\n    model.train()\n    for epoch in range(epochs):\n"
        "        for x in loader:\n            model(x).sum().backward()\n            opt.step()\n"
        "            opt.zero_grad()\n        model.eval()  # expect\n",
        "def validate(model):\n    model.eval()\n\ndef fit(model, opt, loader, epochs):\n"
        "    for epoch in range(epochs):  # expect\n        for x in loader:\n            model(x).sum().backward()\n"
        "            opt.step()\n            opt.zero_grad()\n        validate(model)\n",
    )
    _RESUME = ("def train_mode(model):\n    model.train()\ndef resume(model):\n    train_mode(model)\n"
               "def begin(model):\n    resume(model)\n")
    _RESUMING_LOOP = ("def fit(model, loader):\n    for x in loader:\n        resume(model)\n"
                      "        update(model(x).sum())\n        model.eval()\n")
    VALID = VALID + (  # the loop resets the mode two calls down, with and without a function that reaches
        # `resume` through a longer chain first: silent in both (the verdict must not depend on the layout)
        _CHAIN + _RESUME + _RESUMING_LOOP,
        _CHAIN + _RESUME + "def warmup(model, batches):\n    for x in batches:\n        outer(model)\n"
        "def outer(model):\n    begin(model)\n" + _RESUMING_LOOP,
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
                if direct and all(_frozen(context, scope, loop, receiver(call)) for call in direct):
                    continue  # a frozen backbone kept in eval mode on purpose (linear probing)
                yield Hit(direct[0] if direct else loop,
                          "the loop switches to eval mode and never back: later training steps run with Dropout "
                          "off and BatchNorm frozen; call model.train() before training")


PROBING = re.compile(r"linear[ -_]?prob|frozen|freez", re.IGNORECASE)


def _frozen(context: LintContext, scope: FunctionNode | ast.Module, loop: ast.AST, name: str) -> bool:
    """Whether the model put in eval mode is a frozen feature extractor, not what the loop trains: the
    function's docstring says so (linear probing, a frozen backbone), its parameters are frozen in the
    file, it only runs under no_grad in the loop, or the file's optimizers update other objects only."""
    docstring = ast.get_docstring(scope) if not isinstance(scope, ast.Module) else None
    if docstring and PROBING.search(docstring):
        return True
    if f"{name}.requires_grad_(False)" in context.text or \
            re.search(rf"for \w+ in {re.escape(name)}\.parameters\(\):\s*\n\s*\w+\.requires_grad = False", context.text):
        return True
    calls = [n for n in walk_local(loop.body) if isinstance(n, ast.Call) and dotted(n.func) == name]  # type: ignore[attr-defined]
    ranges = grad_off_ranges(context, scope)
    if calls and all(inside(call.lineno, ranges) for call in calls):
        return True
    owners = optimizer_owners(context)
    return bool(owners) and all(name not in held for held in owners.values())


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(node is inner for node in ast.walk(outer))


RULES = [EvalModeNeverReset]
