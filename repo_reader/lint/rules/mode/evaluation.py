"""RR202, RR204: evaluation that runs a model in training mode, or with autograd on."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from repo_reader.lint.context import FunctionNode, LintContext, methods, self_attribute
from repo_reader.lint.evaluation import (
    EVAL_NAME, EXTERNAL_STOCHASTIC, ModelCall, caller_function, callers, eval_before, grad_off_ranges, has_backward,
    inside, is_stochastic, model_calls, repo_has_stochastic_model,
)
from repo_reader.lint.inference import held_models, is_eval_script, owner_sets_mode, runs_over_data, trains_anything
from repo_reader.lint.flow import is_mode_call, owner_of, walk_local
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.rules.common import is_test_file
from repo_reader.model import Severity

_NET = ("import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        self.drop = nn.Dropout(0.5)\n"
        "    def forward(self, x):\n        return self.fc(self.drop(x))\n")


LOOPS = (ast.For, ast.While, ast.AsyncFor, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)


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
    return bool(ranges) and any(isinstance(node, LOOPS) and inside(node.lineno, ranges)
                                for node in walk_local(function.body))


def _evaluation_scopes(context: LintContext) -> Iterator[tuple[str, FunctionNode | ast.Module]]:
    """Evaluation functions, then the module itself when the file is an evaluation script (`test.py`
    whose module-level loop runs the model) that never backpropagates."""
    if is_test_file(context.path):
        return
    for name, function in context.functions:
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                is_evaluation(name, function, context) and not has_backward(function):
            yield name, function
    if is_eval_script(context.path) and not has_backward(context.tree):
        yield "", context.tree


def _in_loops(scope: FunctionNode | ast.Module, calls: list[ModelCall]) -> list[ModelCall]:
    """The calls that run inside a loop of the scope (a module-level script evaluates in its data loop)."""
    loops = [node for node in walk_local(scope.body) if isinstance(node, LOOPS)]
    return [call for call in calls if any(any(n is call.call for n in ast.walk(loop)) for loop in loops)]


DATA_SOURCE = re.compile(r"load|data|batch|sample|frame|image|img|set\b|split|\bdl\b|\bds\b|_iter|files|paths",
                         re.IGNORECASE)


def _confidence(call: ModelCall, scope: FunctionNode | ast.Module) -> int:
    """90 for a model of known class; 75 for one of unknown class run over data (a loop over a loader,
    batches, images); 45 (hidden) when the loop is over something else (denoising steps, guidance
    states); 40 (hidden) for a model an object was handed (`self.unet` of a pipeline): whoever built it
    sets its mode (`from_pretrained` returns models in eval mode), and that is out of sight here."""
    if call.name.startswith("self."):
        return 40
    if call.cls:
        return 90
    loops = [loop for loop in walk_local(scope.body) if isinstance(loop, LOOPS)
             and any(node is call.call for node in ast.walk(loop))]
    sources = [ast.unparse(loop.iter if isinstance(loop, (ast.For, ast.AsyncFor)) else
                           loop.generators[0].iter if isinstance(loop, LOOPS[3:]) else loop.test) for loop in loops]
    return 75 if any(DATA_SOURCE.search(source) for source in sources) else 45


def _mode_handled(context: LintContext, function: FunctionNode | ast.Module) -> bool:
    """The mode is set in the scope itself, or by the object whose method this is."""
    if any(isinstance(n, ast.Call) and is_mode_call(n) for n in walk_local(function.body)):
        return True
    return isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and owner_sets_mode(context, function)


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
        _NET + "def build(cfg):\n    model = Net()\n    return model.to(cfg.device)\n"
        "def run(cfg, loader):\n    net = build(cfg)\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            net(x)  # expect\n",
        _NET + "def predict(checkpoint, loader):\n    model = checkpoint.model\n    for x in loader:\n"
        "        model(x)  # expect\n",
        _NET + "def extract_features(encoder, loader):\n    with torch.inference_mode():\n"
        "        return [encoder(x) for x in loader]  # expect\n",
        "import torch\nfrom pytorch_fid.inception import InceptionV3\nclass FID:\n    def __init__(self, device):\n"
        "        self.inception = InceptionV3([3]).to(device)\n    def features(self, x):\n"
        "        return self.inception(x)[0]  # expect\n    def stats(self, loader):\n        found = []\n"
        "        for x in loader:\n            found.append(self.features(x))\n        return found\n",
    )
    QUIET = (
        _NET + "class Pipeline:\n    def __init__(self, unet):\n        self.unet = unet\n    @torch.no_grad()\n"
        "    def __call__(self, latents, steps):\n        for t in steps:\n            latents = self.unet(latents, t)\n"
        "        return latents\n",
        _NET + "@torch.no_grad()\ndef denoise(components, latents, steps):\n    model = components.model\n"
        "    for t in steps:\n        latents = model(latents, t)\n    return latents\n",
    )
    VALID = VALID + (
        _NET + "def setup_model(path):\n    model = Net()\n    model.eval()\n    return model\n"
        "def run(path, loader):\n    net = setup_model(path)\n    with torch.no_grad():\n        for x in loader:\n"
        "            net(x)\n",
        _NET + "class Predictor:\n    def setup_model(self, model):\n        self.model = model\n"
        "        self.model.eval()\n    @torch.no_grad()\n    def predict(self, loader):\n        for x in loader:\n"
        "            self.model(x)\n",
        "import torch\nfrom pytorch_fid.inception import InceptionV3\nclass FID:\n    def __init__(self, device):\n"
        "        self.inception = InceptionV3([3]).to(device).eval()\n    def features(self, x):\n"
        "        return self.inception(x)[0]\n    def stats(self, loader):\n        found = []\n"
        "        for x in loader:\n            found.append(self.features(x))\n        return found\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for name, function in _evaluation_scopes(context):
            calls = model_calls(context, function)
            if not name:
                calls = _in_loops(function, calls)
            if not calls or _mode_handled(context, function):
                continue
            first = min(calls, key=lambda call: (call.call.lineno, call.call.col_offset))
            if first.mode_set:
                continue
            stochastic = is_stochastic(context.repo, context, first.cls) if first.cls else \
                repo_has_stochastic_model(context)
            if not stochastic or name and self._caller_sets_eval(context, name):
                continue
            yield Hit(first.call, f"evaluation runs `{first.name}` in training mode: Dropout/BatchNorm behave as in "
                                  f"training; call `{first.name}.eval()` first", confidence=_confidence(first, function))
        yield from self._held_models(context)

    def _held_models(self, context: LintContext) -> Iterator[Hit]:
        """A plain object (an FID evaluator, a predictor) that runs a model it holds over data and
        never sets that model's mode."""
        framework = {id(node) for _, node in context.module_classes()}
        for _, cls in context.class_nodes:
            if id(cls) in framework or is_test_file(context.path):
                continue
            held = held_models(context, cls, EXTERNAL_STOCHASTIC)
            moded = {self_attribute(n.func.value) for n in ast.walk(cls) if isinstance(n, ast.Call)
                     and is_mode_call(n) and isinstance(n.func, ast.Attribute)}
            held = {name: cls_name for name, cls_name in held.items() if name not in moded}
            if not held or trains_anything(cls):
                continue
            for method in methods(cls).values():
                calls = [n for n in walk_local(method.body) if isinstance(n, ast.Call) and self_attribute(n.func) in held]
                if not calls or not runs_over_data(cls, method):
                    continue
                attribute = self_attribute(calls[0].func) or ""
                if is_stochastic(context.repo, context, held[attribute]):
                    yield Hit(calls[0], f"inference runs `self.{attribute}` in training mode over the data: "
                                        f"Dropout/BatchNorm behave as in training; call `self.{attribute}.eval()` first",
                              confidence=80)
                    break

    def _caller_sets_eval(self, context: LintContext, name: str) -> bool:
        for module, scope, line in callers(context.repo, f"{context.module}.{name}"):
            caller = caller_function(context.repo, module, scope)
            if caller is not None and eval_before(caller, line):
                return True
        return False


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
        "import torch\ndef eval_training(net, loader):\n    net.eval()\n    for x in loader:\n"
        "        net(x)  # expect\n",
    )
    VALID = VALID + (
        "import torch\ndef smart_inference_mode():\n    def decorate(fn):\n        return torch.inference_mode()(fn)\n"
        "    return decorate\n@smart_inference_mode()\ndef validate(model, loader):\n    model.eval()\n"
        "    for x in loader:\n        model(x)\n",
        "import torch\ndef validate(model, loader):\n    model.eval()\n    for x in loader:\n        model(x)\n"
        "@torch.inference_mode()\ndef main(model, loader):\n    validate(model, loader)\n",
    )

    def check(self, context: LintContext) -> Iterator[Hit]:
        for name, function in _evaluation_scopes(context):
            if name and not EVAL_NAME.match(name.rsplit(".", 1)[-1]):
                continue
            ranges = grad_off_ranges(context, function)
            calls = model_calls(context, function) if name else _in_loops(function, model_calls(context, function))
            outside = [call for call in calls if not inside(call.call.lineno, ranges)]
            if not outside or name and self._callers_turn_grad_off(context, name):
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


RULES = [EvalWithoutEvalMode, EvalWithGrad]
