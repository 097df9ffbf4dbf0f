"""Which datasets already live in memory, for the data-loading rules (a loader of one needs no workers).

No IO: follows the repository's own classes and assignments through `LintContext`.
"""

from __future__ import annotations

import ast

from repo_reader.lint.context import LintContext, methods
from repo_reader.scan.collect import dotted


def in_memory(context: LintContext, dataset: ast.expr | None, depth: int = 4) -> bool:
    """A dataset already in memory (worker processes would only add overhead): a TensorDataset, a repo
    Dataset whose `__getitem__` only slices tensors it holds (`return self.data[index]`), a Subset of
    one; built here, held in `self.x`, or returned by a repo function (`dataset = make_dataset(...)`)."""
    if dataset is None or depth <= 0:
        return False
    if isinstance(dataset, ast.Call):
        name = context.call_name(dataset)
        if name == "torch.utils.data.TensorDataset":
            return True
        if name == "torch.utils.data.Subset":
            return in_memory(context, dataset.args[0] if dataset.args else None, depth - 1)
        found = context.repo.definition(name) if name else None
        if found is not None:
            module, node = found
            if isinstance(node, ast.ClassDef):
                getitem = methods(node).get("__getitem__")
                return getitem is not None and _serves_from_memory(getitem)
            return any(isinstance(n, ast.Return) and isinstance(n.value, ast.Call) and
                       context.call_name(n.value, module) == "torch.utils.data.TensorDataset" for n in ast.walk(node))
    if isinstance(dataset, (ast.Name, ast.Attribute)):
        spelled = dotted(dataset)
        for node in ast.walk(context.tree):
            if isinstance(node, ast.Assign) and [dotted(t) for t in node.targets] == [spelled]:
                if in_memory(context, node.value, depth - 1):
                    return True
    return False


def _serves_from_memory(getitem: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`__getitem__` that only computes indices and slices `self` tensors (no file reads, no transforms)."""
    sliced: set[str] = set()
    for statement in getitem.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name):
            if _sliced_from_self(statement.value, sliced):
                sliced.add(statement.targets[0].id)
            elif any(isinstance(node, ast.Call) for node in ast.walk(statement.value)):
                return False
        elif not (isinstance(statement, ast.Return) and _sliced_from_self(statement.value, sliced)):
            return False
    return True


def _sliced_from_self(node: ast.expr | None, sliced: set[str]) -> bool:
    if isinstance(node, (ast.Tuple, ast.List)):
        return bool(node.elts) and all(_sliced_from_self(item, sliced) for item in node.elts)
    if isinstance(node, ast.Name):
        return node.id in sliced
    if isinstance(node, ast.Subscript):
        root: ast.expr = node
        while isinstance(root, (ast.Subscript, ast.Attribute)):
            root = root.value
        return isinstance(root, ast.Name) and (root.id == "self" or root.id in sliced)
    return False
