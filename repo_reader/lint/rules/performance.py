"""RR5xx: performance — blocking host-to-device copies and host syncs on every training step."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import LintContext, has_star_kwargs, is_constant
from repo_reader.lint.flow import is_backward, owner_of, root_name, scopes, training_loops, walk_local
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.data import argument, dataloader_calls
from repo_reader.lint.rules.optimisation.loss_tensors import backward_names
from repo_reader.model import Severity

SYNCS = ("item", "cpu", "numpy", "tolist")
COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match,
            ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
LOG_GUARD = re.compile(r"log|print|interval|freq|every|verbose|display|report|debug|rank|master|main", re.IGNORECASE)


def _loop_names(loop: ast.For | ast.AsyncFor) -> set[str]:
    """The loop's target names and names unpacked from them in the body (`x, y = batch`)."""
    names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    for node in walk_local(loop.body):
        if isinstance(node, ast.Assign) and root_name(node.value) in names:
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


class BlockingDeviceCopy(Rule):
    """## What it does
    Finds batches moved with `.to(device)` / `.cuda()` without `non_blocking=True` in a file whose
    DataLoader pins memory.

    ## Why is this bad
    Pinned memory exists so the copy can run asynchronously; a blocking copy makes the host wait
    for it every step and the pinning buys nothing.

    ## Example
    ```python
    loader = DataLoader(ds, num_workers=4, pin_memory=True)
    for x, y in loader:
        x = x.to(device)
    ```

    ## Use instead
    ```python
    x = x.to(device, non_blocking=True)
    ```
    """

    code = "RR501"
    name = "blocking-device-copy"
    severity = Severity.INFO
    fix_kind = "add-non-blocking"
    _HEAD = "from torch.utils.data import DataLoader\nloader = DataLoader(ds, num_workers=2, pin_memory=True)\n"
    VALID = (_HEAD + "for x, y in loader:\n    x = x.to(device, non_blocking=True)\n",
             _HEAD + "for x, y in loader:\n    x = x.to(torch.float16)\n")
    INVALID = (_HEAD + "for x, y in loader:\n    x = x.to(device)  # expect\n    y = y.cuda()  # expect\n",
               _HEAD + "for batch in loader:\n    images, labels = batch\n    images = images.to('cuda')  # expect\n")
    FIXES = ((_HEAD + "for x, y in loader:\n    x = x.to(device)\n    y = y.cuda()\n",
              _HEAD + "for x, y in loader:\n    x = x.to(device, non_blocking=True)\n    y = y.cuda(non_blocking=True)\n"),)

    def check(self, context: LintContext) -> Iterator[Hit]:
        pinned = [call for call in dataloader_calls(context)
                  if (value := argument(call, "pin_memory")) is not None and not is_constant(value, False)]
        if not pinned:
            return
        for loop in ast.walk(context.tree):
            if not isinstance(loop, (ast.For, ast.AsyncFor)):
                continue
            names = _loop_names(loop)
            for call in walk_local(loop.body):
                if isinstance(call, ast.Call) and self._blocking_copy(context, call, names):
                    yield Hit(call, "the batch is copied to the device without non_blocking=True although the "
                                    "loader pins memory: the host waits for every copy", self.fix_kind)

    def _blocking_copy(self, context: LintContext, call: ast.Call, names: set[str]) -> bool:
        if not isinstance(call.func, ast.Attribute) or call.func.attr not in ("to", "cuda"):
            return False
        if root_name(call.func.value) not in names or has_star_kwargs(call):
            return False
        if any(item.arg in ("non_blocking", "dtype") for item in call.keywords):
            return False
        if call.func.attr == "to":
            if not call.args or len(call.args) > 1:
                return False
            first = call.args[0]
            if context.resolve(first).startswith("torch.") and "device" not in context.resolve(first):
                return False  # a dtype: `.to(torch.float16)`
            if isinstance(first, ast.Constant) and first.value == "cpu":
                return False
        return True


def _guarded(loop: ast.AST, node: ast.AST) -> bool:
    """Whether `node` sits under an `if` that looks like a logging interval (`i % 100 == 0`, `args.log`)."""
    for test_owner in walk_local(loop.body):  # type: ignore[attr-defined]
        if isinstance(test_owner, (ast.If, ast.IfExp)) and any(n is node for n in ast.walk(test_owner)) and \
                not any(n is node for n in ast.walk(test_owner.test)):
            test = test_owner.test
            if any(isinstance(n, ast.Mod) for n in ast.walk(test)) or LOG_GUARD.search(ast.unparse(test)):
                return True
    return False


FINITE_CHECK = re.compile(r"isnan|isfinite|isinf|\bnan\b|\binf\b", re.IGNORECASE)


def _synchronizes(call: ast.Call) -> bool:
    """`torch.cuda.synchronize()` and the like: an explicit wait, after which a read costs nothing more."""
    return isinstance(call.func, ast.Attribute) and call.func.attr == "synchronize" or \
        isinstance(call.func, ast.Name) and call.func.id == "synchronize"


def _finite_guards(loop: ast.AST) -> list[ast.If]:
    """The `if not math.isfinite(loss.item()):` blocks of a loop: they exist to stop a diverged run."""
    return [node for node in walk_local(loop.body)  # type: ignore[attr-defined]
            if isinstance(node, ast.If) and FINITE_CHECK.search(ast.unparse(node.test))]


def _in_guard(guards: list[ast.If], node: ast.AST) -> bool:
    return any(any(inner is node for inner in ast.walk(guard)) for guard in guards)


def _feeds_guard(statement: ast.stmt, guards: list[ast.If]) -> bool:
    """`loss_value = loss.item()` whose value a NaN guard then tests."""
    if not isinstance(statement, ast.Assign):
        return False
    names = {n.id for target in statement.targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return any(isinstance(n, ast.Name) and n.id in names for guard in guards for n in ast.walk(guard.test))


def _moved_to_host(node: ast.expr) -> bool:
    """`x.cpu()`, `x.detach().cpu()`, `x.to("cpu")`: the copy that the following `.numpy()` reads."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("cpu", "to"):
            return True
        node = node.func.value
    return False


class HostSyncInLoop(Rule):
    """## What it does
    Finds host syncs — `.item()`, `.cpu()`, `.numpy()`, `.tolist()`, printing the loss tensor — on
    every iteration of a training loop, not guarded by a logging interval.

    ## Why is this bad
    Each one makes the CPU wait until the GPU has finished all queued work, so the next step
    cannot be queued ahead: the GPU idles between steps.

    ## Example
    ```python
    for x, y in loader:
        ...
        loss.backward(); optimizer.step()
        running += loss.item()
    ```

    ## Use instead
    Accumulate on the device (`running += loss.detach()`) and read it every N steps:
    `if step % log_every == 0: print(running.item() / log_every)`.
    """

    code = "RR502"
    name = "host-sync-in-loop"
    severity = Severity.INFO
    _LOOP = "def fit(model, opt, loader):\n    for i, x in enumerate(loader):\n        opt.zero_grad()\n" \
            "        loss = model(x).sum()\n        loss.backward()\n        opt.step()\n"
    VALID = (_LOOP + "        if i % 100 == 0:\n            print(loss.item())\n",
             _LOOP + "        total = loss.detach()\n",
             _LOOP + "        torch.cuda.synchronize()\n        meter.update(loss=loss.item())\n",
             _LOOP + "        if not math.isfinite(loss.item()):\n            print('loss is', loss.item())\n"
             "            sys.exit(1)\n",
             _LOOP + "        loss_value = loss.item()\n        if math.isnan(loss_value):\n"
             "            raise RuntimeError('diverged')\n",
             _LOOP + "        onehot = encode(x.numpy())\n")
    INVALID = (_LOOP + "        total = loss.item()  # expect\n",
               _LOOP + "        print(loss.item(),  # expect\n              x.cpu())\n",
               _LOOP + "        print(loss)  # expect\n",
               _LOOP + "        scores = model(x).detach().cpu().numpy()  # expect\n")

    def check(self, context: LintContext) -> Iterator[Hit]:
        if not context.mentions("backward"):
            return
        finder = None
        for name, scope in scopes(context):
            losses = backward_names(scope)
            for loop, _ in training_loops(context, scope, finder, owner_of(context, name) if name else None):
                if not any(isinstance(n, ast.Call) and is_backward(n) for n in walk_local(loop.body)):
                    continue
                synced = [n.lineno for n in walk_local(loop.body) if isinstance(n, ast.Call) and _synchronizes(n)]
                guards = _finite_guards(loop)
                for statement in walk_local(loop.body):
                    if not isinstance(statement, ast.stmt) or isinstance(statement, COMPOUND):
                        continue
                    if any(line < statement.lineno for line in synced) or _feeds_guard(statement, guards):
                        continue  # the host already waits there, or the value is read to stop on NaN
                    for node in ast.walk(statement):  # one finding per statement
                        what = self._sync(node, losses) if isinstance(node, ast.Call) else ""
                        if what and not _guarded(loop, node) and not _in_guard(guards, node):
                            yield Hit(node, f"{what} syncs the host with the device on every training step; read "
                                            "it every N steps (under a logging interval)")
                            break

    def _sync(self, call: ast.Call, losses: set[str]) -> str:
        if isinstance(call.func, ast.Attribute) and call.func.attr in SYNCS and not call.args:
            if call.func.attr == "numpy" and not _moved_to_host(call.func.value):
                return ""  # `.numpy()` raises on a device tensor: this one is on the host already
            return f"`.{call.func.attr}()`"
        if isinstance(call.func, ast.Name) and call.func.id == "print":
            if any(isinstance(arg, ast.Name) and arg.id in losses for arg in call.args):
                return "printing a tensor"
        return ""


RULES = [BlockingDeviceCopy, HostSyncInLoop]
