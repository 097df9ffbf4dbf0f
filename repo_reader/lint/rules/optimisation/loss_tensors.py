"""RR404: loss tensors accumulated across iterations (`total += loss`), keeping every graph alive."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext
from repo_reader.lint.flow import is_backward, owner_of, scopes, walk_local
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import FIT_LOOP
from repo_reader.model import Severity
from repo_reader.scan.collect import dotted


def _bare(node: ast.expr, names: set[str]) -> bool:
    """Whether a backward'd tensor appears in `node` as itself (not through .item(), float(), .detach())."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.BinOp):
        return _bare(node.left, names) or _bare(node.right, names)
    if isinstance(node, ast.UnaryOp):
        return _bare(node.operand, names)
    return False


def _holders(node: ast.expr | None) -> set[str]:
    """The local names a backpropagated expression reads its graph from: `loss`, `output` in
    `output["loss"]` or `out.loss`, both names in `(loss_a + loss_b) / k`."""
    if isinstance(node, ast.Name):
        return {node.id} if node.id != "self" else set()
    if isinstance(node, (ast.Subscript, ast.Attribute)):
        return _holders(node.value)
    if isinstance(node, ast.BinOp):
        return _holders(node.left) | _holders(node.right)
    if isinstance(node, ast.UnaryOp):
        return _holders(node.operand)
    return set()


def backward_names(scope: FunctionNode | ast.Module) -> set[str]:
    names = set()
    for node in walk_local(scope.body):
        if isinstance(node, ast.Call) and is_backward(node):
            target = node.func.value if isinstance(node.func, ast.Attribute) else None
            if isinstance(target, ast.Call) and target.args:  # scaler.scale(loss).backward()
                target = target.args[0]
            if target is None and node.args:  # accelerator.backward(loss), self.manual_backward(loss)
                target = node.args[0]
            names |= _holders(target)
    for _ in range(2):  # `loss = output["loss"]; loss.backward()`: `output` holds the graph too
        for node in walk_local(scope.body):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in names:
                names |= _holders(node.value)
    return names


def returned_names(scope: FunctionNode | ast.Module) -> set[str]:
    """What a Lightning `training_step` returns: the framework backpropagates it after the step."""
    return {name for node in walk_local(scope.body) if isinstance(node, ast.Return) for name in _holders(node.value)}


def _loops_around(scope: FunctionNode | ast.Module, node: ast.AST) -> list[ast.AST]:
    return [loop for loop in walk_local(scope.body) if isinstance(loop, (ast.For, ast.While, ast.AsyncFor))
            and any(inner is node for inner in ast.walk(loop))]


def _initialised_in(loop: ast.AST, target: str, node: ast.AST) -> bool:
    """Whether every iteration rebinds `target` before `node` (a statement of the loop's own body, not
    one under an `if`: `total = 0` every 100 steps still accumulates across the others)."""
    line = getattr(node, "lineno", 0)
    return any(isinstance(item, ast.Assign) and item.lineno < line and any(dotted(t) == target for t in item.targets)
               for item in loop.body)  # type: ignore[attr-defined]


class LossAccumulatedAsTensor(Rule):
    """## What it does
    Finds a loss tensor that is backpropagated and also accumulated as a tensor across iterations
    (`total += loss`, `losses.append(loss)`), or a step's output that holds it (`outputs.append(output)`
    after `output["loss"].backward()`; a Lightning `training_step` appending the loss it returns).

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
    VALID = (FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total = loss.item()\n",
             FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss += 0.1 * model.reg()\n        loss.backward()\n",
             FIT_LOOP + "        output = model.step(x, y)\n        output['loss'].backward()\n"
             "        outputs.append({k: v.detach() for k, v in output.items()})\n",
             FIT_LOOP + "        parts = []\n        loss = loss_fn(model(x), y)\n        parts.append(loss)\n"
             "        sum(parts).backward()\n",
             "import lightning as L\nclass Lit(L.LightningModule):\n    def training_step(self, batch, i):\n"
             "        loss = self.model(batch).mean()\n        self.losses.append(loss.detach())\n        return loss\n")
    INVALID = (FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total += loss  # expect\n",
               "history = []\n" + FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n"
               "        history.append(loss)  # expect\n")
    INVALID = INVALID + (
        "outputs = []\n" + FIT_LOOP + "        output = model.step(x, y)\n        output['loss'].backward()\n"
        "        outputs.append(output)  # expect\n",
        FIT_LOOP + "        loss = loss_fn(model(x), y)\n        (loss / 4).backward()\n        total_loss += loss  # expect\n",
        "import lightning as L\nclass Lit(L.LightningModule):\n    def training_step(self, batch, i):\n"
        "        loss = self.model(batch).mean()\n        self.step_outputs.append(loss)  # expect\n        return loss\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        steps = context.mentions("training_step")
        if not context.mentions("backward") and not steps:
            return
        for name, scope in scopes(context):
            per_step = steps and name.rsplit(".", 1)[-1] == "training_step" and bool(owner_of(context, name))
            names = backward_names(scope) | (returned_names(scope) if per_step else set())
            if not names:
                continue
            for node in walk_local(scope.body):
                target = self._accumulates(node, names)
                if target is None:
                    continue
                loops = _loops_around(scope, node)
                innermost = min(loops, key=lambda loop: (loop.end_lineno or 0) - loop.lineno) if loops else None
                across = per_step and target.startswith("self.") or \
                    innermost is not None and not _initialised_in(innermost, target, node)
                if across:
                    yield Hit(node, "a backpropagated tensor is accumulated across iterations: it keeps every "
                                    "iteration's graph alive; accumulate .item() or .detach()")

    def _accumulates(self, node: ast.AST, names: set[str]) -> str | None:
        """The accumulator's name when `node` adds a backpropagated tensor to it as itself."""
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target = dotted(node.target)
            return target if target not in names and _bare(node.value, names) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) and \
                isinstance(node.value.op, ast.Add):
            target = dotted(node.targets[0])
            return target if target not in names and dotted(node.value.left) == target and \
                _bare(node.value.right, names) else None
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "append":
            target = dotted(node.value.func.value)
            return target if len(node.value.args) == 1 and _bare(node.value.args[0], names) else None
        return None


RULES = [LossAccumulatedAsTensor]
