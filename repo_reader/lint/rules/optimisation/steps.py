"""RR401-RR403: the optimizer step — gradients never zeroed, zeroed between backward and step, or
accumulated over k iterations without dividing the loss by k."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import LintContext
from repo_reader.lint.flow import (
    OPTIMIZER_NAME, is_backward, is_optimizer_step, is_zero_grad, owner_of, receiver, scopes, training_loops,
    walk_local,
)
from repo_reader.lint.names import is_optimizer
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import FIT_LOOP
from repo_reader.model import Severity
from repo_reader.scan.collect import dotted


def _direct_calls(loop: ast.AST) -> list[ast.Call]:
    calls = [n for n in walk_local(loop.body) if isinstance(n, ast.Call)]  # type: ignore[attr-defined]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def _step_target(call: ast.Call) -> str:
    owner = receiver(call)
    if owner.endswith("scaler") and call.args:
        return dotted(call.args[0])
    return owner


class MissingZeroGrad(Rule):
    """## What it does
    Finds a training loop that reaches `backward()` and `optimizer.step()` but never zeroes the
    gradients in the loop (`optimizer.zero_grad()`, `model.zero_grad()` or `p.grad = None`).

    ## Why is this bad
    `backward()` adds into `.grad`. Without zeroing, every step uses the sum of all gradients
    since the start: the updates grow and training diverges or stalls.

    ## Example
    ```python
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
    ```

    ## Use instead
    Call `optimizer.zero_grad()` once per step, before `backward()` or after `step()`.
    """

    code = "RR401"
    name = "missing-zero-grad"
    severity = Severity.ERROR
    VALID = (FIT_LOOP + "        opt.zero_grad()\n        loss_fn(model(x), y).backward()\n        opt.step()\n",
             FIT_LOOP + "        loss_fn(model(x), y).backward()\n        opt.step()\n"
             "        for p in model.parameters():\n            p.grad = None\n")
    INVALID = ("def fit(model, opt, loader, loss_fn):\n    opt.zero_grad()\n    for x, y in loader:\n"
               "        loss_fn(model(x), y).backward()\n        opt.step()  # expect\n",)
    VALID = VALID + ("import torch\ndef refine(model, latents, steps):\n    for t in steps:\n"
                     "        x = latents.detach().clone().requires_grad_(True)\n        opt = torch.optim.SGD([x], lr=0.1)\n"
                     "        model(x, t).sum().backward()\n        opt.step()\n",)
    _CLEAR = ("def clear(opt):\n    opt.zero_grad()\ndef prepare(opt):\n    clear(opt)\n"
              "def begin(opt):\n    prepare(opt)\n")
    _CLEARING_LOOP = ("def fit(model, opt, loader):\n    for x in loader:\n        prepare(opt)\n"
                      "        model(x).sum().backward()\n        opt.step()\n")
    VALID = VALID + (  # gradients zeroed two calls down, with and without a function that reaches `prepare`
        # through a longer chain first: silent in both (the training loop is read the same in either layout)
        _CLEAR + _CLEARING_LOOP,
        _CLEAR + "def warmup(opt, batches):\n    for x in batches:\n        outer(opt)\n"
        "def outer(opt):\n    begin(opt)\n" + _CLEARING_LOOP,
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, effects in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                if effects.zero_grad:
                    continue
                calls = _direct_calls(loop)
                steps = [call for call in calls if is_optimizer_step(call)]
                if steps and all(_built_in(loop, receiver(step)) for step in steps):
                    continue  # a fresh optimizer (and fresh leaf tensors) every iteration: nothing accumulates
                if steps or any(is_backward(call) for call in calls):
                    yield Hit(steps[0] if steps else loop, "the training loop calls backward() and step() but never "
                              "zeroes gradients: they accumulate across steps; call optimizer.zero_grad()")


def _built_in(loop: ast.AST, name: str) -> bool:
    return any(isinstance(node, ast.Assign) and any(dotted(t) == name for t in node.targets)
               for node in walk_local(loop.body))  # type: ignore[attr-defined]


class ZeroGradBeforeStep(Rule):
    """## What it does
    Finds `zero_grad()` called between `backward()` and `optimizer.step()`.

    ## Why is this bad
    The gradients that `backward()` just computed are erased before the optimizer uses them: every
    step is a step with zero gradient (only weight decay and momentum move the weights).

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    ```
    """

    code = "RR402"
    name = "zero-grad-before-step"
    severity = Severity.ERROR
    VALID = (FIT_LOOP + "        loss_fn(model(x), y).backward()\n        opt.step()\n        opt.zero_grad()\n",)
    INVALID = (FIT_LOOP + "        loss_fn(model(x), y).backward()\n        opt.zero_grad()  # expect\n        opt.step()\n",
               FIT_LOOP + "        loss_fn(model(x), y).backward()\n        model.zero_grad()  # expect\n        opt.step()\n")
    VALID = VALID + (
        "def fit(actor, critic, actor_opt, critic_opt, loader):\n    for s in loader:\n"
        "        actor_opt.zero_grad()\n        actor(s).mean().backward()\n        critic_opt.zero_grad()\n"
        "        critic(s).mean().backward()\n        critic_opt.step()\n        actor_opt.step()\n",
        "def fit(gen, disc, opt_g, opt_d, loader):\n    for z in loader:\n        opt_g.zero_grad()\n"
        "        gen(z).mean().backward()\n        opt_d.zero_grad()\n        opt_g.step()\n"
        "        disc(z).mean().backward()\n        opt_d.step()\n",
        "import torch\ndef fit(gen, disc, loader):\n    opt_g = torch.optim.Adam(gen.parameters())\n"
        "    for z in loader:\n        gen(z).mean().backward()\n        disc.zero_grad()\n        opt_g.step()\n"
        "        opt_g.zero_grad()\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, _ in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                hit = self._misplaced(_direct_calls(loop), optimizer_owners(context))
                if hit is not None:
                    yield Hit(hit, "zero_grad() between backward() and step() erases the gradients before the "
                                   "optimizer uses them; zero them before backward() or after step()")

    def _misplaced(self, calls: list[ast.Call], owners: dict[str, set[str]]) -> ast.Call | None:
        pending: ast.Call | None = None  # a zero_grad seen after a backward
        seen_backward = False
        for call in calls:
            if is_backward(call):
                seen_backward, pending = True, None
            elif is_zero_grad(call) and seen_backward:
                pending = call
            elif is_optimizer_step(call) and pending is not None:
                zeroed, stepped = receiver(pending), _step_target(call)
                held = owners.get(stepped)
                if zeroed == stepped or not _is_optimizer_name(zeroed) and (not held or zeroed in held):
                    return pending  # the same optimizer, or the zero_grad of the model it updates
                pending = None  # another optimizer's zero_grad (GAN, actor-critic): its own gradients
        return None


def optimizer_owners(context: LintContext) -> dict[str, set[str]]:
    """For each optimizer variable of the file (`opt_g = Adam(gen.parameters())`), the names whose
    parameters it updates (`gen`), so that `disc.zero_grad()` is not read as clearing `opt_g`'s."""
    found = context.cache.get("optimizer-owners")
    if isinstance(found, dict):
        return found
    owners: dict[str, set[str]] = {}
    if context.mentions("optim"):
        for node in ast.walk(context.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call) and \
                    is_optimizer(context.call_name(node.value)) and node.value.args:
                roots = {dotted(n.func.value) for n in ast.walk(node.value.args[0]) if isinstance(n, ast.Call)
                         and isinstance(n.func, ast.Attribute) and n.func.attr in ("parameters", "named_parameters")}
                owners.setdefault(dotted(node.targets[0]), set()).update(roots - {""})
    context.cache["optimizer-owners"] = owners
    return owners


def _is_optimizer_name(name: str) -> bool:
    return bool(OPTIMIZER_NAME.search(name.rsplit(".", 1)[-1])) or "optim" in name.lower()


def _modulo_if(loop: ast.AST, call: ast.Call) -> ast.If | None:
    """The `if i % k == 0:` inside the loop that guards `call`, if any."""
    for node in walk_local(loop.body):  # type: ignore[attr-defined]
        if isinstance(node, ast.If) and any(isinstance(n, ast.Mod) for n in ast.walk(node.test)) and \
                any(n is call for n in ast.walk(node)):
            return node
    return None


def _accumulates(loop: ast.AST, calls: list[ast.Call]) -> ast.Call | None:
    """The guarded step of a gradient-accumulation loop: backward runs every iteration (outside the
    `if i % k` block), step only inside it. (A GAN step every n_critic iterations backpropagates
    inside the same block: not accumulation.)"""
    for step in (call for call in calls if is_optimizer_step(call)):
        guard = _modulo_if(loop, step)
        if guard is None:
            continue
        inside = {id(n) for n in ast.walk(guard)}
        backwards = [call for call in calls if is_backward(call)]
        if backwards and all(id(call) not in inside for call in backwards):
            return step
    return None


ACCUMULATION_NAME = re.compile(r"accum|grad_acc", re.IGNORECASE)


def _accumulation_loop(loop: ast.AST, calls: list[ast.Call]) -> tuple[ast.For, ast.Call] | None:
    """The other accumulation idiom: an inner `for _ in range(accumulation_steps):` that backpropagates
    every micro-batch, with the optimizer step after it, in the training loop. (A GAN's `for _ in
    range(n_critic):` steps inside the inner loop: not accumulation.)"""
    steps = [call for call in calls if is_optimizer_step(call)]
    for inner in walk_local(loop.body):  # type: ignore[attr-defined]
        if not isinstance(inner, ast.For) or not _over_accumulation_steps(inner):
            continue
        inside = {id(node) for node in ast.walk(inner)}
        if steps and all(id(step) not in inside for step in steps) and \
                any(is_backward(call) and id(call) in inside for call in calls):
            return inner, steps[0]
    return None


def _over_accumulation_steps(loop: ast.For) -> bool:
    """`for _ in range(accum_steps)` / `range(0, self.gradient_accumulate_every)`."""
    if not (isinstance(loop.iter, ast.Call) and dotted(loop.iter.func) == "range" and loop.iter.args):
        return False
    bound = loop.iter.args[1] if len(loop.iter.args) > 1 else loop.iter.args[0]
    return bool(ACCUMULATION_NAME.search(dotted(bound)))


def _divides(loop: ast.AST) -> bool:
    return any(isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, (ast.Div, ast.Mult))
               for node in walk_local(loop.body))  # type: ignore[attr-defined]


def _read_between(loop: ast.AST, name: str, after: int, before: int) -> bool:
    return any(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
               and after < node.lineno < before for node in walk_local(loop.body))  # type: ignore[attr-defined]


def _unscaled_loss(loop: ast.AST, calls: list[ast.Call]) -> ast.AST | None:
    """Where the fix goes: the last `loss = ...` before the first backward in the loop, else that backward.
    When the loss is read in between (logged, checked for NaN), the backward: dividing the assignment
    would change every such read too, so a fixer divides what backward() receives."""
    backward = next((call for call in calls if is_backward(call)), None)
    if backward is None:
        return None
    target = backward.func.value if isinstance(backward.func, ast.Attribute) else None
    if isinstance(target, ast.Call) and target.args:  # scaler.scale(loss).backward()
        target = target.args[0]
    if target is None and backward.args:  # accelerator.backward(loss)
        target = backward.args[0]
    name = target.id if isinstance(target, ast.Name) else None
    assigned = [node for node in walk_local(loop.body)  # type: ignore[attr-defined]
                if isinstance(node, ast.Assign) and name and [dotted(t) for t in node.targets] == [name]
                and node.lineno <= backward.lineno]
    last = max(assigned, key=lambda node: node.lineno) if assigned else None
    if last is None or name is None or _read_between(loop, name, last.lineno, backward.lineno):
        return backward
    return last


def _scaled_by_library(loop: ast.AST) -> bool:
    """`with accelerator.accumulate(model):` / `accelerator.backward(loss)`: Accelerate divides the loss by
    its gradient_accumulation_steps itself."""
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
               (node.func.attr == "accumulate" or node.func.attr == "backward" and "accelerator" in dotted(node.func))
               for node in walk_local(loop.body))  # type: ignore[attr-defined]


class UnscaledAccumulation(Rule):
    """## What it does
    Finds gradient accumulation — `optimizer.step()` only every k iterations
    (`if (i + 1) % k == 0:`), or after an inner `for _ in range(accum_steps):` loop that
    backpropagates each micro-batch — where the loss is never divided by k. It points at the loss
    assignment, or at `backward()` when the loss is read (logged, checked) in between.

    ## Why is this bad
    Gradients of k micro-batches are summed, so the update is k times larger than the
    equivalent large batch: the effective learning rate silently becomes `k * lr`.

    ## Example
    ```python
    loss.backward()
    if (i + 1) % accum == 0:
        optimizer.step(); optimizer.zero_grad()
    ```

    ## Use instead
    ```python
    (loss / accum).backward()
    ```
    """

    code = "RR403"
    name = "unscaled-accumulation"
    severity = Severity.WARNING
    VALID = ("def fit(model, opt, loader, loss_fn, k):\n    for i, (x, y) in enumerate(loader):\n"
             "        loss = loss_fn(model(x), y) / k\n        loss.backward()\n        if (i + 1) % k == 0:\n"
             "            opt.step()\n            opt.zero_grad()\n",)
    INVALID = ("def fit(model, opt, loader, loss_fn, k):\n    for i, (x, y) in enumerate(loader):\n"
               "        loss = loss_fn(model(x), y)  # expect\n        loss.backward()\n        if (i + 1) % k == 0:\n"
               "            opt.step()\n            opt.zero_grad()\n",
               "def fit(model, opt, loader, loss_fn, k):\n    for i, (x, y) in enumerate(loader):\n"
               "        loss_fn(model(x), y).backward()  # expect\n        if (i + 1) % k == 0:\n"
               "            opt.step()\n            opt.zero_grad()\n",
               "def fit(model, opt, scaler, loader, loss_fn, k):\n    for i, (x, y) in enumerate(loader):\n"
               "        out = model(x)\n        loss = loss_fn(out, y)  # expect\n        scaler.scale(loss).backward()\n"
               "        if (i + 1) % k == 0:\n            scaler.step(opt)\n            scaler.update()\n"
               "            opt.zero_grad()\n")
    INVALID = INVALID + ("def fit(model, opt, loader, loss_fn, accumulate_every):\n"
                         "    for i, (x, y) in enumerate(loader):\n        loss = loss_fn(model(x), y)  # expect\n"
                         "        loss.backward()\n        if (i + 1) % accumulate_every == 0:\n"
                         "            opt.step()\n            opt.zero_grad()\n",)
    VALID = VALID + ("def fit(model, opt, accelerator, loader, loss_fn):\n    for i, (x, y) in enumerate(loader):\n"
                     "        with accelerator.accumulate(model):\n            loss = loss_fn(model(x), y)\n"
                     "            accelerator.backward(loss)\n            if (i + 1) % 4 == 0:\n"
                     "                opt.step()\n                opt.zero_grad()\n",)
    VALID = VALID + ("def fit(gen, disc, opt_g, opt_d, loader, n_critic):\n    for i, z in enumerate(loader):\n"
                     "        opt_d.zero_grad()\n        disc(z).mean().backward()\n        opt_d.step()\n"
                     "        if i % n_critic == 0:\n            opt_g.zero_grad()\n            gen(z).mean().backward()\n"
                     "            opt_g.step()\n",)

    _MICRO = "def fit(model, opt, batches, accum_steps):\n    while True:\n        for _ in range(accum_steps):\n"
    INVALID = INVALID + (  # accumulation by an inner micro-batch loop; a loss logged before its backward
        _MICRO + "            loss = model(next(batches))  # expect\n            loss.backward()\n"
        "        opt.step()\n        opt.zero_grad()\n",
        _MICRO + "            loss = model(next(batches))\n            print(loss.item())\n"
        "            loss.backward()  # expect\n        opt.step()\n        opt.zero_grad()\n",
    )
    VALID = VALID + (
        _MICRO + "            loss = model(next(batches))\n            (loss / accum_steps).backward()\n"
        "        opt.step()\n        opt.zero_grad()\n",
        "def fit(gen, disc, opt_d, opt_g, batches, n_critic):\n    while True:\n        for _ in range(n_critic):\n"
        "            disc(next(batches)).mean().backward()\n            opt_d.step()\n            opt_d.zero_grad()\n"
        "        gen(next(batches)).mean().backward()\n        opt_g.step()\n        opt_g.zero_grad()\n",
        "def fit(model, opt, batches, tasks):\n    while True:\n        for task in range(tasks):\n"
        "            model(next(batches), task).backward()\n        opt.step()\n        opt.zero_grad()\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, _ in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                calls = _direct_calls(loop)
                step = _accumulates(loop, calls)
                micro: ast.AST = loop  # where the loss to divide lives: the loop, or its micro-batch loop
                if step is None and (nested := _accumulation_loop(loop, calls)) is not None:
                    micro, step = nested
                if step is None or _divides(micro) or _scaled_by_library(micro):
                    continue
                yield Hit(_unscaled_loss(micro, _direct_calls(micro)) or step,
                          f"the optimizer steps every k iterations (line {step.lineno}) but this loss is not "
                          "divided by k: the update is k times too large; divide the loss by k")




RULES = [MissingZeroGrad, ZeroGradBeforeStep, UnscaledAccumulation]
