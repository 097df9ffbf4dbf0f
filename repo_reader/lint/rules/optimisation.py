"""RR4xx: optimisation — gradients that are never zeroed, zeroed too early, accumulated unscaled,
loss tensors that keep graphs alive, and optimizers that miss (or hold frozen) parameters."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext, methods
from repo_reader.lint.flow import (
    is_backward, is_optimizer_step, is_zero_grad, owner_of, receiver, root_name, scopes,
    training_loops, walk_local,
)
from repo_reader.lint.names import is_optimizer
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import builds_module, self_assignments
from repo_reader.lint.rules.structure import STATELESS_SUFFIXES
from repo_reader.model import Severity
from repo_reader.scan.collect import dotted

_LOOP = "def fit(model, opt, loader, loss_fn):\n    for x, y in loader:\n"


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
    VALID = (_LOOP + "        opt.zero_grad()\n        loss_fn(model(x), y).backward()\n        opt.step()\n",
             _LOOP + "        loss_fn(model(x), y).backward()\n        opt.step()\n"
             "        for p in model.parameters():\n            p.grad = None\n")
    INVALID = ("def fit(model, opt, loader, loss_fn):\n    opt.zero_grad()\n    for x, y in loader:\n"
               "        loss_fn(model(x), y).backward()\n        opt.step()  # expect\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, effects in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                if effects.zero_grad:
                    continue
                calls = _direct_calls(loop)
                steps = [call for call in calls if is_optimizer_step(call)]
                if steps or any(is_backward(call) for call in calls):
                    yield Hit(steps[0] if steps else loop, "the training loop calls backward() and step() but never "
                              "zeroes gradients: they accumulate across steps; call optimizer.zero_grad()")


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
    VALID = (_LOOP + "        loss_fn(model(x), y).backward()\n        opt.step()\n        opt.zero_grad()\n",)
    INVALID = (_LOOP + "        loss_fn(model(x), y).backward()\n        opt.zero_grad()  # expect\n        opt.step()\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, _ in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                hit = self._misplaced(_direct_calls(loop))
                if hit is not None:
                    yield Hit(hit, "zero_grad() between backward() and step() erases the gradients before the "
                                   "optimizer uses them; zero them before backward() or after step()")

    def _misplaced(self, calls: list[ast.Call]) -> ast.Call | None:
        pending: ast.Call | None = None  # a zero_grad seen after a backward
        seen_backward = False
        for call in calls:
            if is_backward(call):
                seen_backward, pending = True, None
            elif is_zero_grad(call) and seen_backward:
                pending = call
            elif is_optimizer_step(call) and pending is not None:
                zeroed, stepped = receiver(pending), _step_target(call)
                if zeroed == stepped or "optim" not in zeroed.lower():
                    return pending
                pending = None
        return None


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


class UnscaledAccumulation(Rule):
    """## What it does
    Finds gradient accumulation — `optimizer.step()` only every k iterations
    (`if (i + 1) % k == 0:`) — where the loss is never divided by k.

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
               "        loss = loss_fn(model(x), y)\n        loss.backward()\n        if (i + 1) % k == 0:\n"
               "            opt.step()  # expect\n            opt.zero_grad()\n",)
    VALID = VALID + ("def fit(gen, disc, opt_g, opt_d, loader, n_critic):\n    for i, z in enumerate(loader):\n"
                     "        opt_d.zero_grad()\n        disc(z).mean().backward()\n        opt_d.step()\n"
                     "        if i % n_critic == 0:\n            opt_g.zero_grad()\n            gen(z).mean().backward()\n"
                     "            opt_g.step()\n",)

    def check(self, context: LintContext) -> Iterator[Hit]:
        finder = None
        for name, scope in scopes(context):
            for loop, _ in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                step = _accumulates(loop, _direct_calls(loop))
                if step is None:
                    continue
                divides = any(isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, (ast.Div, ast.Mult))
                              for n in walk_local(loop.body))
                if not divides and "accumulate" not in ast.unparse(loop):
                    yield Hit(step, "the optimizer steps every k iterations but the loss is not divided by k: "
                                    "the update is k times too large; backward (loss / k)")


def _bare(node: ast.expr, names: set[str]) -> bool:
    """Whether a backward'd tensor appears in `node` as itself (not through .item(), float(), .detach())."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.BinOp):
        return _bare(node.left, names) or _bare(node.right, names)
    if isinstance(node, ast.UnaryOp):
        return _bare(node.operand, names)
    return False


def backward_names(scope: FunctionNode | ast.Module) -> set[str]:
    names = set()
    for node in walk_local(scope.body):
        if isinstance(node, ast.Call) and is_backward(node):
            target = node.func.value if isinstance(node.func, ast.Attribute) else None
            if isinstance(target, ast.Call) and target.args:  # scaler.scale(loss).backward()
                target = target.args[0]
            if target is None and node.args:  # accelerator.backward(loss)
                target = node.args[0]
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


class LossAccumulatedAsTensor(Rule):
    """## What it does
    Finds a loss tensor that is backpropagated and also accumulated as a tensor
    (`total += loss`, `losses.append(loss)`).

    ## Why is this bad
    The running total keeps a reference to every iteration's autograd graph: memory grows
    with each step until it runs out, and the sum drags the graphs along.

    ## Example
    ```python
    loss.backward()
    total_loss += loss
    ```

    ## Use instead
    ```python
    total_loss += loss.item()      # or loss.detach()
    ```
    """

    code = "RR404"
    name = "loss-accumulated-as-tensor"
    severity = Severity.WARNING
    VALID = (_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total = loss.item()\n",
             _LOOP + "        loss = loss_fn(model(x), y)\n        loss += 0.1 * model.reg()\n        loss.backward()\n")
    INVALID = (_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total += loss  # expect\n",
               "history = []\n" + _LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n"
               "        history.append(loss)  # expect\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        if "backward" not in context.text:
            return
        for _, scope in scopes(context):
            names = backward_names(scope)
            if not names:
                continue
            for node in walk_local(scope.body):
                if self._accumulates(node, names):
                    yield Hit(node, "a backpropagated loss tensor is accumulated: it keeps every iteration's graph "
                                    "alive; accumulate loss.item() or loss.detach()")

    def _accumulates(self, node: ast.AST, names: set[str]) -> bool:
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            return dotted(node.target) not in names and _bare(node.value, names)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) and \
                isinstance(node.value.op, ast.Add):
            target = dotted(node.targets[0])
            return target not in names and dotted(node.value.left) == target and _bare(node.value.right, names)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "append":
            return len(node.value.args) == 1 and _bare(node.value.args[0], names)
        return False


def _optimizers(context: LintContext, scope: FunctionNode | ast.Module) -> list[ast.Call]:
    if "optim" not in context.text:
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
        if "requires_grad" not in context.text:
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
        if "requires_grad" in context.text or "optim" not in context.text:
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


RULES = [MissingZeroGrad, ZeroGradBeforeStep, UnscaledAccumulation, LossAccumulatedAsTensor, OptimizerHoldsFrozen,
         OptimizerOnSubmodule]
