"""Where a model comes from and who sets its mode, for the evaluation rules (RR202, RR204).

A model may be built in place, returned by a repo factory (`net = build(cfg)`), read off another
object (`model = loader.model`), passed in, or held by a plain object (`self.inception = InceptionV3()`
in an evaluator class). Its mode may be set on the path: in the function, in a caller, in the factory
(`setup_model()` calls `.eval()`), or by the object that holds it. No IO.
"""

from __future__ import annotations

import ast
import re

from repo_reader.lint.context import FunctionNode, LintContext, methods, self_attribute
from repo_reader.lint.flow import is_backward, is_mode_call, walk_local
from repo_reader.lint.rules.common import builds_module, self_assignments

EVAL_SCRIPT = re.compile(r"(^|/)(test|eval\w*|evaluate\w*|inference|infer|predict\w*|validate)\.py$")
GRAD_OFF_WORDS = ("no_grad", "inference_mode")
MAX_FACTORY_DEPTH = 3


def is_eval_script(path: str) -> bool:
    """`test.py`, `eval_linear.py`, `predict.py`: a script whose module-level loop evaluates."""
    return bool(EVAL_SCRIPT.search(path))


def factory_model(context: LintContext, call: ast.Call, depth: int = MAX_FACTORY_DEPTH,
                  caller: str | None = None) -> tuple[str, bool] | None:
    """(class or "", whether it sets eval mode) when `call` (in module `caller`) runs a repo function that
    returns a model (`return Net()`, a local built from a model class, or from another such factory, as in
    `net = vgg16_bn()` inside `get_network`); None when it returns no model."""
    name = context.call_name(call, caller)
    if not name or context.repo.symbols.definitions.get(name) != "function" or depth <= 0:
        return None
    key = f"factory:{name}:{depth}"
    if key not in context.repo.memo:
        context.repo.memo[key] = None  # recursion guard
        context.repo.memo[key] = _factory_result(context, name, depth)
    return context.repo.memo[key]  # type: ignore[return-value]


def _factory_result(context: LintContext, name: str, depth: int) -> tuple[str, bool] | None:
    found = context.repo.definition(name)
    if found is None or not isinstance(found[1], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    module, function = found
    built: dict[str, str] = {}
    for node in walk_local(function.body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            cls = builds_module(context, node.value, module)
            made = factory_model(context, node.value, depth - 1, module) if not cls and isinstance(node.value, ast.Call) \
                else None
            if cls or made is not None:
                cls = cls or (made[0] if made else "")
                built[node.targets[0].id] = cls if node.targets[0].id not in built else ""  # several: unknown
    sets_eval = any(isinstance(n, ast.Call) and is_mode_call(n) == "eval" for n in walk_local(function.body))
    for node in walk_local(function.body):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value = node.value.func.value if isinstance(node.value, ast.Call) and \
            isinstance(node.value.func, ast.Attribute) and node.value.func.attr in ("to", "cuda", "eval") \
            else node.value  # `return model.to(device)`
        if isinstance(node.value, ast.Call) and getattr(node.value.func, "attr", "") == "eval":
            sets_eval = True
        cls = builds_module(context, value, module)
        if cls:
            return cls, sets_eval
        made = factory_model(context, value, depth - 1, module) if isinstance(value, ast.Call) else None
        if made is not None:
            return made[0], sets_eval or made[1]
        if isinstance(value, ast.Name) and value.id in built:
            return built[value.id], sets_eval
    return None


def model_attribute(node: ast.expr, pattern: re.Pattern[str]) -> bool:
    """`loader.model`, `self.trainer.model`: an attribute named like a model, read off another object."""
    return isinstance(node, ast.Attribute) and bool(pattern.match(node.attr)) and self_attribute(node) is None


def owner_sets_mode(context: LintContext, function: FunctionNode) -> bool:
    """Whether a method's class sets a mode anywhere (a predictor's `setup_model()` calling `self.model.eval()`):
    the object that holds the model handles its mode."""
    for qualname, node in context.functions:
        if node is function and "." in qualname:
            owner = context.repo.definition(f"{context.module}.{qualname.rsplit('.', 1)[0]}")
            if owner is not None and isinstance(owner[1], ast.ClassDef):
                return any(isinstance(n, ast.Call) and is_mode_call(n) for n in ast.walk(owner[1]))
    return False


def decorated_grad_off(context: LintContext, function: FunctionNode, module: str | None = None) -> bool:
    """A repo decorator that turns gradients off (`@smart_inference_mode()` wrapping `torch.inference_mode`)."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = context.resolve(target, module)
        found = context.repo.definition(name) if name else None
        if found is not None and isinstance(found[1], (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                any(isinstance(n, ast.Attribute) and n.attr in GRAD_OFF_WORDS or
                    isinstance(n, ast.Name) and n.id in GRAD_OFF_WORDS for n in ast.walk(found[1])):
            return True
    return False


def held_models(context: LintContext, cls: ast.ClassDef, external: tuple[str, ...]) -> dict[str, str]:
    """Attributes of a plain (non-Module) class that hold a model: `self.net = InceptionV3(...).to(device)`."""
    found: dict[str, str] = {}
    init = methods(cls).get("__init__")
    for name, value, _ in self_assignments(init.body) if init else []:
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr in ("to", "cuda", "float", "half"):
            value = value.func.value
        built = builds_module(context, value)
        called = context.call_name(value) if isinstance(value, ast.Call) else ""
        if built:
            found[name] = built
        elif called.startswith(external) and called not in context.repo.symbols.definitions:
            found[name] = called  # a library's model (not the library's own code being checked)
    return found


def runs_over_data(cls: ast.ClassDef, method: FunctionNode) -> bool:
    """The method loops, or the class calls it inside a loop (feature extraction over a dataset)."""
    if any(isinstance(n, (ast.For, ast.While, ast.AsyncFor)) for n in walk_local(method.body)):
        return True
    for loop in ast.walk(cls):
        if isinstance(loop, (ast.For, ast.While, ast.AsyncFor)):
            for call in ast.walk(loop):
                if isinstance(call, ast.Call) and self_attribute(call.func) == method.name:
                    return True
    return False


def trains_anything(cls: ast.ClassDef) -> bool:
    return any(isinstance(n, ast.Call) and (is_backward(n) or getattr(n.func, "attr", "") == "step")
               for n in ast.walk(cls))
