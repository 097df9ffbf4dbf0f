"""Safe rewrites for `check --fix`, through libcst so that the user's formatting survives.

Pure: text in, text out. Rewrites: wrap a plain container of layers in nn.ModuleList/ModuleDict,
add `training=self.training` to functional dropout, add `non_blocking=True` to a device copy.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # libcst 1.0 imports a deprecated mypy_extensions name
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

from repo_reader.model import Fix

CONTAINER_NODES = (cst.List, cst.Tuple, cst.Dict, cst.ListComp, cst.DictComp)


def nn_prefix(text: str) -> str | None:
    """How the file spells `torch.nn` (`nn`, `torch.nn`), or None when it cannot without a new import."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    found: str | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch.nn" and alias.asname:
                    return alias.asname
                if alias.name.split(".")[0] == "torch" and not alias.asname:
                    found = found or "torch.nn"
        elif isinstance(node, ast.ImportFrom) and node.module == "torch" and node.level == 0:
            for alias in node.names:
                if alias.name == "nn":
                    return alias.asname or "nn"
    return found


class _Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, fixes: Iterable[Fix], prefix: str | None) -> None:
        super().__init__()
        self.pending = {(fix.line, fix.col - 1): fix.kind for fix in fixes}
        self.prefix = prefix
        self.applied = 0

    def _take(self, node: cst.CSTNode, kind: str) -> bool:
        start = self.get_metadata(PositionProvider, node).start
        if self.pending.get((start.line, start.column)) == kind:
            del self.pending[(start.line, start.column)]
            self.applied += 1
            return True
        return False

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        if isinstance(original, CONTAINER_NODES) and self.prefix and self._take(original, "wrap-module-container"):
            return _wrap(updated, self.prefix)  # type: ignore[arg-type]
        if isinstance(original, cst.Call) and isinstance(updated, cst.Call):
            name = original.func.attr.value if isinstance(original.func, cst.Attribute) else \
                original.func.value if isinstance(original.func, cst.Name) else ""
            if "dropout" in name and self._take(original, "add-training-argument"):
                return _add_keyword(updated, "training", "self.training")
            if name in ("to", "cuda") and self._take(original, "add-non-blocking"):
                return _add_keyword(updated, "non_blocking", "True")
        return updated


def _wrap(node: cst.BaseExpression, prefix: str) -> cst.Call:
    dict_like = isinstance(node, (cst.Dict, cst.DictComp))
    if isinstance(node, cst.Tuple) and not node.lpar:
        node = node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    wrapper = cst.parse_expression(f"{prefix}.{'ModuleDict' if dict_like else 'ModuleList'}")
    return cst.Call(func=wrapper, args=[cst.Arg(value=node)])


def _add_keyword(call: cst.Call, name: str, value: str) -> cst.Call:
    args = list(call.args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    equal = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    args.append(cst.Arg(keyword=cst.Name(name), value=cst.parse_expression(value), equal=equal))
    return call.with_changes(args=args)


def apply_fixes(text: str, fixes: Iterable[Fix]) -> tuple[str, int]:
    """The rewritten text and how many fixes were applied (a fix whose node is not found is skipped)."""
    fixes = list(fixes)
    if not fixes:
        return text, 0
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return text, 0
    rewriter = _Rewriter(fixes, nn_prefix(text))
    result = MetadataWrapper(module).visit(rewriter)
    return result.code, rewriter.applied
