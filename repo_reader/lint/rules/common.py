"""Small predicates the rule families share: what builds a layer, where a function is, test files."""

from __future__ import annotations

import ast
import re

from repo_reader.lint.context import LintContext, self_attribute
from repo_reader.lint.names import CONTAINERS, is_layer

FIT_LOOP = "def fit(model, opt, loader, loss_fn):\n    for x, y in loader:\n"  # examples' training loop
TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")


def is_test_file(path: str) -> bool:
    return bool(TEST_PATH.search(path))


def builds_module(context: LintContext, node: ast.AST | None, module: str | None = None) -> str:
    """The qualified class name when `node` constructs an nn.Module (a torch layer or a repo model)."""
    if not isinstance(node, ast.Call):
        return ""
    name = context.call_name(node, module)
    if not name:
        return ""
    if is_layer(name) or name in CONTAINERS or context.is_module_class(name):
        return name
    return ""


def self_assignments(body: list[ast.stmt]) -> list[tuple[str, ast.expr, ast.stmt]]:
    """(attribute, value, statement) for every `self.x = value` in a method body (nested blocks too)."""
    found = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = self_attribute(target)
                if name:
                    found.append((name, node.value, node))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = self_attribute(node.target)
            if name:
                found.append((name, node.value, node))
    return found
