"""Evaluation code: which functions evaluate, which calls run a model, who calls them, and whether
the model has Dropout or BatchNorm (the layers whose behaviour depends on train/eval mode)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from repo_reader.lint.context import FunctionNode, LintContext, RepoView
from repo_reader.lint.flow import is_backward, is_mode_call, walk_local
from repo_reader.lint.inference import decorated_grad_off, factory_model, model_attribute
from repo_reader.lint.names import BATCHNORM_LAYERS, DROPOUT_LAYERS, FUNCTIONAL_DROPOUT, NO_GRAD_CONTEXTS
from repo_reader.lint.rules.common import builds_module
from repo_reader.scan.collect import dotted

EVAL_NAME = re.compile(r"^_?(eval|evaluate|evaluation|valid|validate|validation|val|test|testing|predict|"
                       r"inference|infer)(_[a-z0-9_]+)?$")  # eval_training, validate_one_epoch, test_model
MODEL_NAME = re.compile(r"^(model|net|network|classifier|encoder|decoder|generator|discriminator|backbone|"
                        r"ema_model|teacher|student|vae|unet|cnn|rnn|lstm|transformer)s?(_\w+)?$|^\w+_(model|net)$",
                        re.IGNORECASE)
STOCHASTIC = DROPOUT_LAYERS | BATCHNORM_LAYERS | set(FUNCTIONAL_DROPOUT) | {"torch.nn.functional.batch_norm"}
EXTERNAL_STOCHASTIC = ("torchvision.models.", "timm.create_model", "timm.models.", "transformers.Auto",
                       "transformers.models.", "pytorch_fid.inception.")
GRAD_OFF = NO_GRAD_CONTEXTS - {"torch.enable_grad", "torch.set_grad_enabled"}


@dataclass(frozen=True, slots=True)
class ModelCall:
    call: ast.Call
    name: str  # as spelled: "model", "self.net"
    cls: str  # qualified class name when known, else ""
    mode_set: bool = False  # the factory that returned it sets its mode (`setup_model()` calls .eval())


def model_calls(context: LintContext, function: FunctionNode | ast.Module) -> list[ModelCall]:
    """Calls of things that look like a model: a local built from an nn.Module class, a parameter
    named like a model or annotated nn.Module, a module-level model, or `self.model`."""
    known: dict[str, str] = {}
    mode_set: set[str] = set()
    for fact in context.facts.assigns:
        if fact.scope == "" and fact.kind == "call" and "." not in fact.target:
            name = context.resolve(ast.parse(fact.value, mode="eval").body) if _dotted_text(fact.value) else ""
            if name and context.is_module_class(name):
                known[fact.target] = name
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for arg in function.args.args + function.args.kwonlyargs:
            annotation = context.resolve(arg.annotation) if arg.annotation is not None else ""
            if MODEL_NAME.match(arg.arg) or annotation.endswith("nn.Module"):
                known[arg.arg] = annotation if context.is_module_class(annotation) else ""
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):  # globals: `net = get_network(args)`
        module_known, module_mode_set = _module_models(context)
        known = {**module_known, **known}
        mode_set |= module_mode_set
    _assigned_models(context, function.body, known, mode_set)
    found = []
    for node in walk_local(function.body):
        if not isinstance(node, ast.Call):
            continue
        text = dotted(node.func)
        if text in known:
            found.append(ModelCall(node, text, known[text], text in mode_set))
        elif text.startswith("self.") and text.count(".") == 1 and MODEL_NAME.match(text[5:]) and \
                not _is_method(context, function, text[5:]):
            found.append(ModelCall(node, text, ""))
    return found


def _assigned_models(context: LintContext, body: list[ast.stmt], known: dict[str, str], mode_set: set[str]) -> None:
    """Names bound in `body` to a model: built from a model class, by an external or repo factory (noting
    a factory that sets eval mode), or read off another object (`model = loader.model`)."""
    for node in walk_local(body):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        target = node.targets[0].id
        built = builds_module(context, node.value)
        if built.endswith("Loss"):  # `criterion = nn.CrossEntropyLoss()`: a module, not a model
            continue
        if built:
            known[target] = built
        elif _is_model_factory(context, node.value):
            known[target] = context.call_name(node.value)
        elif isinstance(node.value, ast.Call) and (made := factory_model(context, node.value)) is not None:
            known[target] = made[0]  # `net = get_network(args)`: a repo factory
            if made[1]:
                mode_set.add(target)
        elif model_attribute(node.value, MODEL_NAME):
            known[target] = ""  # `model = loader.model`


def _module_models(context: LintContext) -> tuple[dict[str, str], set[str]]:
    """The file's module-level models (a script's `net = get_network(args)` under its main guard)."""
    found = context.cache.get("module-models")
    if not isinstance(found, tuple):
        known: dict[str, str] = {}
        mode_set: set[str] = set()
        _assigned_models(context, context.tree.body, known, mode_set)
        found = context.cache["module-models"] = (known, mode_set)
    return found


def _is_method(context: LintContext, function: FunctionNode | ast.Module, name: str) -> bool:
    """`self._wrap_model(...)` calls a method, not a model held in an attribute."""
    for qualname, node in context.functions:
        if node is function and "." in qualname:
            owner = f"{context.module}.{qualname.rsplit('.', 1)[0]}"
            return owner in context.repo.classes.classes and context.repo.classes.find_method(owner, name) is not None
    return False


def _dotted_text(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][\w.]*", text))


def _is_model_factory(context: LintContext, node: ast.expr) -> bool:
    name = context.call_name(node) if isinstance(node, ast.Call) else ""
    return name.startswith(EXTERNAL_STOCHASTIC) and name not in context.repo.symbols.definitions


def is_stochastic(repo: RepoView, context: LintContext, cls: str, depth: int = 4) -> bool:
    """Whether a model class contains Dropout or BatchNorm (its output depends on train/eval mode)."""
    if cls.startswith(EXTERNAL_STOCHASTIC) and cls not in repo.classes.classes or cls in STOCHASTIC:
        return True  # a library's model; when the library itself is checked, its classes are read instead
    key = f"stochastic:{cls}"
    if key in repo.memo:
        return bool(repo.memo[key])
    repo.memo[key] = False
    found = repo.definition(cls) if cls in repo.classes.classes else None
    result = False
    if found is not None and depth > 0:
        module, node = found
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            name = context.call_name(call, module)
            if name in STOCHASTIC or (name in repo.classes.classes and name != cls
                                      and is_stochastic(repo, context, name, depth - 1)):
                result = True
                break
        for base in repo.classes.classes[cls].bases:
            result = result or (base in repo.classes.classes and is_stochastic(repo, context, base, depth - 1))
    repo.memo[key] = result
    return result


def repo_has_stochastic_model(context: LintContext) -> bool:
    if "any-stochastic" not in context.repo.memo:
        context.repo.memo["any-stochastic"] = any(
            info.framework and is_stochastic(context.repo, context, info.qualname)
            for info in context.repo.classes.classes.values())
    return bool(context.repo.memo["any-stochastic"])


def callers(repo: RepoView, qualname: str) -> list[tuple[str, str, int]]:
    """(module, scope, line) of every call in the repo that resolves to the function `qualname`."""
    index = repo.memo.get("calls-by-name")
    if index is None:
        index = {}
        for facts in repo.modules.values():
            for call in facts.calls:
                index.setdefault(call.callee.rsplit(".", 1)[-1], []).append((facts.module, call))
        repo.memo["calls-by-name"] = index
    assert isinstance(index, dict)
    found = []
    for module, call in index.get(qualname.rsplit(".", 1)[-1], []):
        if "self." in call.callee or repo.symbols.resolve(module, call.callee).qualname == qualname:
            found.append((module, call.scope, call.line))
    return found


def grad_off_ranges(context: LintContext, function: FunctionNode | ast.Module, module: str | None = None
                    ) -> list[tuple[int, int]]:
    """Line ranges run under `torch.no_grad()` / `inference_mode()` (the whole function when decorated)."""
    ranges = []
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if function.decorator_list and decorated_grad_off(context, function, module):
            return [(function.lineno, function.end_lineno or function.lineno)]
        for decorator in function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if context.resolve(target, module) in GRAD_OFF:
                return [(function.lineno, function.end_lineno or function.lineno)]
    for node in walk_local(function.body):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expr = item.context_expr
                name = context.call_name(expr, module)
                if name in GRAD_OFF or (name == "torch.set_grad_enabled" and isinstance(expr, ast.Call)
                                        and expr.args and isinstance(expr.args[0], ast.Constant)
                                        and expr.args[0].value is False):
                    ranges.append((node.lineno, node.end_lineno or node.lineno))
        elif isinstance(node, ast.Call) and context.call_name(node, module) == "torch.set_grad_enabled" and \
                node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
            ranges.append((node.lineno, getattr(function, "end_lineno", None) or 10**9))
    return ranges


def inside(line: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= line <= end for start, end in ranges)


def eval_before(function: FunctionNode | ast.Module, line: int) -> bool:
    """Whether `.eval()` (or `.train(False)`) is called in `function` before `line`."""
    return any(isinstance(node, ast.Call) and is_mode_call(node) == "eval" and node.lineno <= line
               for node in walk_local(function.body))


def has_backward(function: FunctionNode | ast.Module) -> bool:
    return any(isinstance(node, ast.Call) and is_backward(node) for node in walk_local(function.body))


def caller_function(repo: RepoView, module: str, scope: str) -> FunctionNode | ast.Module | None:
    found = repo.definition(f"{module}.{scope}" if scope else module)
    if found is None or not isinstance(found[1], (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
        return None
    return found[1]
