"""RR404: loss tensors accumulated across iterations (`total += loss`), keeping every graph alive."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext
from repo_reader.lint.flow import is_backward, scopes, walk_local
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
    VALID = (FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total = loss.item()\n",
             FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss += 0.1 * model.reg()\n        loss.backward()\n")
    INVALID = (FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n        total += loss  # expect\n",
               "history = []\n" + FIT_LOOP + "        loss = loss_fn(model(x), y)\n        loss.backward()\n"
               "        history.append(loss)  # expect\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        if not context.mentions("backward"):
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




RULES = [LossAccumulatedAsTensor]
