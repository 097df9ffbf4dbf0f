"""Program slicing for `check --dynamic`: which names a run of statements reads before binding them,
and the earlier assignments that define them. Standard library only (`ast`)."""

from __future__ import annotations

import ast

Body = list[ast.stmt]
NAMESPACES = {"args", "opt", "opts", "options", "cfg", "config", "conf", "hparams", "flags", "hp", "params"}


def flat(body: Body) -> Body:
    """Statements in order, entering `with` and `try` blocks (not branches or inner loops)."""
    found: Body = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            found.extend(flat(statement.body))
        elif isinstance(statement, ast.Try):
            found.extend(flat(statement.body))
    return found


def assigns(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, ast.Assign):
        return any(isinstance(target, ast.Name) and target.id == name for target in statement.targets)
    return isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name) and \
        statement.target.id == name


def stored_names(target: ast.expr) -> list[str]:
    return [node.id for node in ast.walk(target) if isinstance(node, ast.Name)]


def free_names(statements: Body) -> set[str]:
    """Names read before the statements themselves bind them."""
    bound: set[str] = set()
    free: set[str] = set()
    for statement in statements:
        local = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                 and not _is_statement_target(statement, n)}  # comprehension variables
        local |= {a.arg for n in ast.walk(statement) if isinstance(n, ast.Lambda) for a in n.args.args}
        free |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} \
            - bound - local
        bound |= local | {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return free


def _is_statement_target(statement: ast.stmt, name: ast.Name) -> bool:
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else []
    return any(name in ast.walk(target) for target in targets)


def defining_assignments(scope_body: Body, before_line: int, wanted: set[str],
                         known: set[str]) -> tuple[Body | None, set[str]]:
    """The assignments before `before_line` that define `wanted` (and what they need), in source order;
    option namespaces (`args = parser.parse_args()`) are filled from defaults in the child instead."""
    earlier = [s for s in flat(scope_body) if s.lineno < before_line and isinstance(s, ast.Assign)]
    chosen: list[ast.Assign] = []
    namespaces: set[str] = set()
    pending = set(wanted)
    while pending:
        name = pending.pop()
        definition = next((s for s in reversed(earlier) if assigns(s, name)), None)
        if definition is not None and _parses_options(definition.value):
            namespaces.add(name)
        elif definition is None and name in NAMESPACES:
            namespaces.add(name)
        elif definition is None:
            return None, set()
        elif definition not in chosen:
            chosen.append(definition)
            pending |= free_names([definition]) - known - namespaces - {t for s in chosen for t in _stored_targets(s)}
    return sorted(chosen, key=lambda s: s.lineno), namespaces


def _parses_options(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
        value.func.attr in ("parse_args", "parse_known_args")


def _stored_targets(statement: ast.Assign) -> list[str]:
    return [name for target in statement.targets for name in stored_names(target)]
