"""What a stretch of code does to training state, following calls into the repo's own functions.

`effects(...)` answers: does this loop (or function) call backward, an optimizer step, zero_grad,
`.train()`, `.eval()`? Calls to repo functions and to `self.method()` are followed a few levels deep.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from repo_reader.lint.context import FunctionNode, LintContext
from repo_reader.scan.collect import dotted

MAX_DEPTH = 3
OPTIMIZER_NAME = re.compile(r"(^|[._])(opt\w*|optim\w*|\w*optimi[sz]er\w*|scaler|accelerator)$", re.IGNORECASE)
SCHEDULER_NAME = re.compile(r"sched|lr_|warmup", re.IGNORECASE)
@dataclass(frozen=True, slots=True)
class Effects:
    backward: bool = False
    step: bool = False
    zero_grad: bool = False
    train: bool = False
    eval: bool = False

    def __or__(self, other: Effects) -> Effects:
        return Effects(*(a or b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[bool, ...]:
        return (self.backward, self.step, self.zero_grad, self.train, self.eval)


def walk_local(nodes: list[ast.stmt] | ast.AST) -> Iterator[ast.AST]:
    """Every node under `nodes`, not entering nested functions, classes or lambdas."""
    skipped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    stack = [node for node in reversed(nodes) if not isinstance(node, skipped)] if isinstance(nodes, list) else [nodes]
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, skipped):
                stack.append(child)


def receiver(call: ast.Call) -> str:
    """`optimizer.step()` → "optimizer"; `scaler.scale(loss).backward()` → "scaler.scale()"."""
    if isinstance(call.func, ast.Attribute):
        return dotted(call.func.value)
    return ""


def method_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def is_backward(call: ast.Call) -> bool:
    name = method_name(call)
    if name == "backward":
        return True
    return isinstance(call.func, ast.Name) and call.func.id == "backward" or \
        dotted(call.func) in ("torch.autograd.backward", "autograd.backward")


def is_optimizer_step(call: ast.Call) -> bool:
    if method_name(call) != "step":
        return False
    owner = receiver(call)
    if not owner or SCHEDULER_NAME.search(owner):
        return False
    last = owner.rsplit(".", 1)[-1]
    return bool(OPTIMIZER_NAME.search(last)) or last in ("opt", "optimizer")


def is_zero_grad(call: ast.Call) -> bool:
    name = method_name(call) or (call.func.id if isinstance(call.func, ast.Name) else "")
    return "zero_grad" in name


UNTRAINED_COPY = re.compile(r"(?:^|[._])(?:ema|teacher|target|momentum|swa|averaged?|shadow)(?:[._]|$)", re.IGNORECASE)


def is_untrained_copy(name: str) -> bool:
    """`self.ema.ema_model`, `model_ema`, `teacher`, `target_net`: a copy that follows the trained
    model (averaged or frozen) and is never trained itself."""
    return bool(UNTRAINED_COPY.search(name))


def is_mode_call(call: ast.Call) -> str | None:
    """"train" for `m.train()` / `m.train(True)`, "eval" for `m.eval()` / `m.train(False)`."""
    name = method_name(call)
    if name == "eval" and not call.args and not call.keywords:
        return "eval"
    if name == "train" and len(call.args) <= 1 and not call.keywords:
        if call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False:
            return "eval"
        if not call.args or isinstance(call.args[0], ast.Constant):
            return "train"
        return "train"  # `model.train(mode)`: restores whichever mode, counts as a reset
    return None


def clears_grad(node: ast.AST) -> bool:
    """`p.grad = None` or `p.grad.zero_()`."""
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in node.targets)
    if isinstance(node, ast.Call) and method_name(node) in ("zero_", "detach_", "fill_"):
        return ".grad" in dotted(node.func)
    return False


class EffectFinder:
    """Effects of code in one file, with calls followed across the repo (memoised per function)."""

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.memo: dict[str, Effects] = {}

    def of(self, nodes: list[ast.stmt] | ast.AST, owner: str | None, module: str | None = None,
           depth: int = MAX_DEPTH) -> Effects:
        module = module or self.context.module
        found = Effects()
        for node in walk_local(nodes):
            if clears_grad(node):
                found = found | Effects(zero_grad=True)
            if not isinstance(node, ast.Call):
                continue
            mode = is_mode_call(node)
            evaluates = mode == "eval" and not is_untrained_copy(receiver(node))
            found = found | Effects(is_backward(node), is_optimizer_step(node), is_zero_grad(node),
                                    mode == "train", evaluates)
            if depth > 0:
                target = self.callee(node, owner, module)
                if target is not None:
                    found = found | self.of_function(target, depth - 1)
        return found

    def callee(self, call: ast.Call, owner: str | None, module: str) -> str | None:
        """The repo function a call runs, as a full qualified name, when it can be told statically."""
        text = dotted(call.func)
        if not text or "(" in text or "[" in text:
            return None
        if text.startswith("self.") and text.count(".") == 1 and owner:
            return self.context.repo.classes.find_method(owner, text[5:])
        resolved = self.context.repo.symbols.resolve(module, text)
        if resolved.internal and self.context.repo.symbols.definitions.get(resolved.qualname) == "function":
            return resolved.qualname
        return None

    def of_function(self, qualname: str, depth: int) -> Effects:
        """Memoised per (function, depth): an answer computed a level too shallow (reached through a
        longer chain first) must not stand for a direct call, or a loop's verdict would depend on the
        order in which the file's functions happen to be read."""
        key = f"{qualname}\0{depth}"
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = Effects()  # recursion guard
        found = self.context.repo.definition(qualname)
        effects = Effects()
        if found is not None and isinstance(found[1], (ast.FunctionDef, ast.AsyncFunctionDef)):
            module, node = found
            owner = qualname.rsplit(".", 1)[0] if qualname.rsplit(".", 1)[0] in self.context.repo.classes.classes \
                else None
            effects = self.of(node.body, owner, module, depth)
        self.memo[key] = effects
        return effects


def loops_in(node: FunctionNode | ast.Module) -> Iterator[ast.For | ast.While | ast.AsyncFor]:
    for child in walk_local(node.body):
        if isinstance(child, (ast.For, ast.While, ast.AsyncFor)):
            yield child


def owner_of(context: LintContext, qualname: str) -> str | None:
    """The full qualname of the class a function (`Net.forward`) belongs to, if any."""
    parent = qualname.rpartition(".")[0]
    full = f"{context.module}.{parent}"
    return full if parent and full in context.repo.classes.classes else None


def scopes(context: LintContext) -> Iterator[tuple[str, FunctionNode | ast.Module]]:
    """Every function of the file, then the module itself (for module-level training scripts)."""
    yield from context.functions
    yield "", context.tree


def finder_for(context: LintContext) -> EffectFinder:
    """One EffectFinder per file, shared by the rules (its memo is the expensive part)."""
    finder = context.cache.get("finder")
    if not isinstance(finder, EffectFinder):
        finder = context.cache["finder"] = EffectFinder(context)
    return finder


def loop_effects(context: LintContext, scope: FunctionNode | ast.Module, owner: str | None
                 ) -> list[tuple[ast.For | ast.While | ast.AsyncFor, Effects]]:
    """Every loop of a scope with what its body does (memoised per file)."""
    key = ("loop-effects", id(scope))
    if key not in context.cache:
        if not any(context.mentions(word) for word in ("backward", "step", "eval", "train")) \
                or not _calls_in_loops_within(context, scope):
            context.cache[key] = []
        else:
            finder = finder_for(context)
            context.cache[key] = [(loop, finder.of(loop.body, owner)) for loop in loops_in(scope)]
    return context.cache[key]  # type: ignore[return-value]


def _calls_in_loops_within(context: LintContext, scope: FunctionNode | ast.Module) -> bool:
    """Whether any call inside a loop lies within `scope`'s lines (from the scan's facts): a scope
    without one has no loop with an effect, and need not be walked (most of a model library's code)."""
    lines = context.cache.get("looped-call-lines")
    if not isinstance(lines, list):
        lines = context.cache["looped-call-lines"] = sorted(call.line for call in context.facts.calls if call.in_loop)
    if isinstance(scope, ast.Module):
        return bool(lines)
    first = bisect.bisect_left(lines, scope.lineno)
    return first < len(lines) and lines[first] <= (scope.end_lineno or scope.lineno)


def training_loops(context: LintContext, scope: FunctionNode | ast.Module, finder: EffectFinder | None,
                   owner: str | None) -> list[tuple[ast.For | ast.While | ast.AsyncFor, Effects]]:
    """The innermost loops of a scope that reach both backward() and an optimizer step."""
    key = ("training-loops", id(scope))
    if key in context.cache:
        return context.cache[key]  # type: ignore[return-value]
    found = [(loop, effects) for loop, effects in loop_effects(context, scope, owner)
             if effects.backward and effects.step]
    inner = [(loop, effects) for loop, effects in found
             if not any(other is not loop and _inside(other, loop) for other, _ in found)]
    context.cache[key] = inner
    return inner


def _inside(inner: ast.AST, outer: ast.AST) -> bool:
    start, end = getattr(outer, "lineno", 0), getattr(outer, "end_lineno", 0) or 0
    return start < getattr(inner, "lineno", 0) <= end


def root_name(node: ast.AST) -> str:
    """`model.encoder.parameters()` → "model"."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""
