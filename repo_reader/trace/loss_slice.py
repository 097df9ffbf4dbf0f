"""`check --dynamic`, parent side: find the training loop's `loss = a + w * b` and the statements it
needs (a program slice), for the child to evaluate term by term on one synthesized batch.

Standard library only; reads source with `ast`, runs nothing.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

from repo_reader.model import EntryKind, ModelInfo, RepoMap
from repo_reader.trace.slicing import Body, assigns, defining_assignments, flat, free_names, stored_names

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
Scope = ast.Module | FunctionNode
_PREAMBLE = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, slots=True)
class LossSlice:
    """What the child needs to rebuild one loss statement's terms on a synthesized batch."""

    path: str  # root-relative entry file
    line: int  # the loss assignment
    col: int
    expression: str  # `ce + penalty`
    terms: tuple[str, ...]  # source of each additive term: (`ce`, `penalty`)
    preamble: tuple[str, ...]  # the entry file's imports, functions and classes
    setup: tuple[str, ...]  # statements before the loop that the loop body needs (`criterion = ...`)
    body: tuple[str, ...]  # the loop's assignments before the loss; the terms are evaluated after them
    batch: tuple[str, ...]  # names the loop binds from the data (`x`, `y`)
    model_inputs: tuple[str, ...]  # the batch names passed to the model, in order
    models: tuple[str, ...]  # the variables holding the model, the one the loop calls first
    namespaces: tuple[str, ...]  # variables holding parsed options (`args`), filled from their defaults


def find_loss_slice(model: ModelInfo, repo_map: RepoMap, root: Path) -> LossSlice | None:
    """The sum-of-terms loss in the training loop of an entry point that builds `model`, if any."""
    ranked = sorted(repo_map.entry_points, key=lambda entry: (entry.kind != EntryKind.TRAIN, entry.rank))
    for entry in ranked:
        for site in model.constructed_at:
            if site.path != entry.path:
                continue
            try:
                tree = ast.parse((root / site.path).read_text(encoding="utf-8-sig"))
            except (OSError, SyntaxError, UnicodeDecodeError):
                continue
            found = _slice_in(tree, site.path, site.line)
            if found is not None:
                return found
    return None


def _slice_in(tree: ast.Module, path: str, model_line: int) -> LossSlice | None:
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in [tree, *functions]:
        for loop in (node for node in ast.walk(scope) if isinstance(node, ast.For)):
            loss = _loss_statement(loop)
            source = _model_source(tree, functions, scope, model_line) if loss else None
            if loss is not None and source is not None:
                found = _slice(tree, path, scope, loss, source)
                if found is not None:
                    return found
    return None


@dataclass(frozen=True, slots=True)
class _Loss:
    """The loss statement of one loop: `loss = a + b` (or `loss += b`) and the assignments before it."""

    loop: ast.For
    statement: ast.stmt
    terms: list[ast.expr]
    expression: str
    body: Body
    batch: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _ModelSource:
    """Where the loop's model variable comes from: built in the loop's own scope, or passed in by a
    call (`train(args, model, loader)`) whose arguments `bindings` evaluates in the caller's scope."""

    name: str  # as the loop calls it
    aliases: tuple[str, ...]  # every variable that holds the model
    caller: Scope | None = None
    call_line: int = 0
    bindings: tuple[tuple[str, ast.expr], ...] = ()  # (parameter, argument)


def _loss_statement(loop: ast.For) -> _Loss | None:
    statements = flat(loop.body)
    backward = next((s for s in statements if _backward_receiver(s)), None)
    if backward is None:
        return None
    loss_name = _backward_receiver(backward)
    before = statements[:statements.index(backward)]
    statement = next((s for s in reversed(before) if assigns(s, loss_name)), None)
    if statement is None:
        return None
    terms, expression = _loss_terms(statement, loss_name)
    if len(terms) < 2:
        return None
    body: Body = [s for s in before[:before.index(statement)] if isinstance(s, (ast.Assign, ast.AnnAssign))]
    batch = stored_names(loop.target)
    for unpacking in [s for s in body if _unpacks(s, batch)]:  # `x, y = batch`
        assert isinstance(unpacking, ast.Assign) and isinstance(unpacking.value, ast.Name)
        batch = [name for name in batch if name != unpacking.value.id] + stored_names(unpacking.targets[0])
        body.remove(unpacking)
    return _Loss(loop, statement, terms, expression, body, tuple(batch))


def _unpacks(statement: ast.stmt, batch: list[str]) -> bool:
    return isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
        isinstance(statement.targets[0], ast.Tuple) and isinstance(statement.value, ast.Name) and \
        statement.value.id in batch


def _model_source(tree: ast.Module, functions: list[FunctionNode], scope: Scope, line: int) -> _ModelSource | None:
    """The model built on the construction site's `line` in `scope`, or passed to `scope` by its caller."""
    here = _model_variable(scope.body, line)
    if here is not None:
        return _ModelSource(here, (here,))
    if isinstance(scope, ast.Module):
        return None
    parameters = [argument.arg for argument in scope.args.posonlyargs + scope.args.args]
    for caller in [tree, *functions]:
        model = _model_variable(caller.body, line)
        calls = [node for node in ast.walk(caller) if isinstance(node, ast.Call) and
                 isinstance(node.func, ast.Name) and node.func.id == scope.name] if model else []
        for call in calls:
            bindings = list(zip(parameters, call.args))
            bindings += [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg in parameters]
            passed = [name for name, value in bindings if isinstance(value, ast.Name) and value.id == model]
            if model and passed:
                return _ModelSource(passed[0], (passed[0], model), caller, call.lineno,
                                    tuple((name, value) for name, value in bindings if name != passed[0]))
    return None


def _model_variable(body: Body, line: int) -> str | None:
    """`model = Net(...)` (or `Net(...).to(device)`) on the construction site's line."""
    for statement in flat(body):
        if isinstance(statement, ast.Assign) and statement.lineno <= line <= (statement.end_lineno or line):
            target = statement.targets[0]
            if isinstance(target, ast.Name) and isinstance(statement.value, ast.Call):
                return target.id
    return None


def _slice(tree: ast.Module, path: str, scope: Scope, loss: _Loss, model: _ModelSource) -> LossSlice | None:
    model_inputs = _model_inputs(loss.body, model.name, set(loss.batch))
    if not model_inputs:
        return None
    outer = _module_names(tree) | set(dir(builtins))
    parameters = {name for name, _ in model.bindings}
    known = set(loss.batch) | {model.name} | outer | parameters
    wanted = free_names([*loss.body, loss.statement]) - known
    inner, namespaces = defining_assignments(scope.body, loss.loop.lineno, wanted, known)
    if inner is None:
        return None
    used = free_names([*loss.body, loss.statement, *inner]) & parameters
    bindings: Body = [ast.Assign([ast.Name(name, ast.Store())], value, lineno=model.call_line)
                      for name, value in model.bindings if name in used]
    caller: Body = []
    if model.caller is not None:
        known = outer | set(model.aliases)
        wanted = {node.id for binding in bindings for node in ast.walk(binding)
                  if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - known
        found, outer_namespaces = defining_assignments(model.caller.body, model.call_line, wanted, known)
        if found is None:
            return None
        caller, namespaces = found, namespaces | outer_namespaces
    preamble = [ast.unparse(s) for s in tree.body if isinstance(s, _PREAMBLE)]
    return LossSlice(path, loss.statement.lineno, loss.statement.col_offset + 1, loss.expression,
                     tuple(ast.unparse(term) for term in loss.terms), tuple(preamble),
                     tuple(ast.unparse(s) for s in [*caller, *bindings, *inner]),
                     tuple(ast.unparse(s) for s in loss.body), loss.batch, model_inputs, model.aliases,
                     tuple(sorted(namespaces)))


def _backward_receiver(statement: ast.stmt) -> str:
    """`loss` for the statement `loss.backward()` or `scaler.scale(loss).backward()`."""
    if not (isinstance(statement, ast.Expr) and isinstance(call := statement.value, ast.Call) and
            isinstance(call.func, ast.Attribute) and call.func.attr == "backward"):
        return ""
    receiver = call.func.value
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and \
            receiver.func.attr == "scale" and len(receiver.args) == 1:
        receiver = receiver.args[0]
    return receiver.id if isinstance(receiver, ast.Name) else ""


def _loss_terms(statement: ast.stmt, loss: str) -> tuple[list[ast.expr], str]:
    """`loss = a + w * b` → [a, w * b]; `loss += w * b` → [loss, w * b] (its value before the statement)."""
    value: ast.expr
    if isinstance(statement, ast.AugAssign):
        if not isinstance(statement.op, (ast.Add, ast.Sub)):
            return [], ""
        value = ast.BinOp(ast.Name(loss, ast.Load()), statement.op, statement.value)
    elif isinstance(statement, ast.Assign):
        value = statement.value
    else:
        return [], ""
    terms = [term for term in _terms(value) if not isinstance(term, ast.Constant)]
    return terms, ast.unparse(value)


def _terms(node: ast.expr) -> list[ast.expr]:
    """`a + w * b - c` → [a, w * b, c]: the additive terms, signs dropped (only magnitudes matter)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return _terms(node.left) + _terms(node.right)
    return [node]


def _model_inputs(body: Body, model: str, batch: set[str]) -> tuple[str, ...]:
    """The batch names in the first `model(x, ...)` call, when every argument is one."""
    for node in (n for statement in body for n in ast.walk(statement)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == model:
            names = [arg.id for arg in node.args if isinstance(arg, ast.Name) and arg.id in batch]
            if len(names) == len(node.args) and not node.keywords:
                return tuple(names)
            return ()
    return ()


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
    return names


