"""The models a library's README builds in its usage code (`model = Unet(dim=64)`,
`diffusion = GaussianDiffusion(model, image_size=128)`): the network a newcomer would read first
when the repository has no documented training script. Pure text and syntax; nothing runs.
"""

from __future__ import annotations

import ast
import re

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex

FENCE = re.compile(r"^```[ \t]*(?:python|py|python3)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
MAX_README = 400_000
README = re.compile(r"^readme(\.(md|markdown|rst|txt))?$", re.IGNORECASE)


def readme_models(texts: dict[str, str], symbols: SymbolTable, classes: ClassIndex, types: TypeIndex) -> tuple[str, ...]:
    """The outermost models the first README block that builds any builds: a model handed to another
    one (`GaussianDiffusion(model)`) is not outermost. Empty without a top-level README."""
    readme = next((path for path in sorted(texts) if "/" not in path and README.match(path)), None)
    if readme is None:
        return ()
    for block in python_blocks(texts[readme]):
        try:
            tree = ast.parse(block)
        except (SyntaxError, ValueError, RecursionError):
            continue
        built = _built_in(tree, symbols, classes, types)
        if built:
            handed = {name for _, _, arguments in built for name in arguments}
            return tuple(dict.fromkeys(qualname for variable, qualname, _ in built if variable not in handed))
    return ()


def python_blocks(text: str) -> list[str]:
    """The fenced Python code blocks of a Markdown text (```python / ```py), in order."""
    return FENCE.findall(text[:MAX_README])


def _built_in(tree: ast.Module, symbols: SymbolTable, classes: ClassIndex,
              types: TypeIndex) -> list[tuple[str, str, set[str]]]:
    """(variable, model class, names passed to it) for each `variable = Model(...)` of the block."""
    imported: dict[str, str] = {}
    built: list[tuple[str, str, set[str]]] = []
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                imported[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                top = alias.name.split(".")[0]
                imported[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name) \
                and isinstance(statement.value, ast.Call):
            qualname = _model_of(statement.value.func, imported, symbols, classes, types)
            if qualname is not None:
                arguments = {node.id for node in ast.walk(statement.value) if isinstance(node, ast.Name)}
                built.append((statement.targets[0].id, qualname, arguments))
    return built


def _model_of(function: ast.expr, imported: dict[str, str], symbols: SymbolTable, classes: ClassIndex,
              types: TypeIndex) -> str | None:
    dotted = _dotted(function)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in imported:
        return None
    target = imported[head] + (f".{rest}" if rest else "")
    module, _, name = target.rpartition(".")
    qualname = symbols.resolve(module, name).qualname if module else target
    info = classes.classes.get(qualname)
    if info is not None and info.framework:
        return qualname
    returned = types.returns.get(qualname)
    info = classes.classes.get(returned or "")
    return returned if info is not None and info.framework else None


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])
