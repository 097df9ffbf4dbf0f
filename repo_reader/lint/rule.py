"""The Rule base class: a stable code, a kebab-case name, a severity, a docstring, and examples.

A rule's VALID and INVALID snippets become tests (Fixit style); in an INVALID snippet every line the
rule must flag ends with `# expect`. QUIET snippets are reported with a low confidence only (shown with
`--all`): a layer kept on purpose, a model someone else built. FIXES pairs a snippet with what `--fix` turns it into.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from repo_reader.model import RuleFamily, RuleInfo, Severity

if TYPE_CHECKING:
    from repo_reader.lint.context import LintContext, RepoView
    from repo_reader.lint.usage import Usage

EXPECT_MARK = "# expect"
FAMILIES = {
    "1": RuleFamily.STRUCTURE, "2": RuleFamily.MODE, "3": RuleFamily.DATA,
    "4": RuleFamily.OPTIMISATION, "5": RuleFamily.PERFORMANCE,
}


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports: the node to point at, the message, and the kind of safe fix, if any."""

    node: ast.AST
    message: str
    fix: str | None = None
    key: tuple[str, ...] = ()  # for rules judged after the whole repo is read (`Rule.keep`)
    confidence: int | None = None  # 0-100; None: the rule's own `confidence`


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_kind: ClassVar[str | None] = None
    confidence: ClassVar[int] = 90  # a hit's confidence unless the hit says otherwise (vulture's 0-100)
    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[str, ...]] = ()
    QUIET: ClassVar[tuple[str, ...]] = ()  # reported below the confidence cut only: hidden unless `--all`
    FIXES: ClassVar[tuple[tuple[str, str], ...]] = ()  # (before, after)

    needs_usage: ClassVar[bool] = False  # True: hits are kept or dropped by `keep` once every file is read

    def check(self, context: LintContext) -> Iterator[Hit]:
        raise NotImplementedError

    def keep(self, key: tuple[str, ...], usage: Usage, repo: RepoView) -> bool:
        return True

    @classmethod
    def family(cls) -> RuleFamily:
        return FAMILIES[cls.code[2]]

    @classmethod
    def explanation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def info(cls) -> RuleInfo:
        text = cls.explanation()
        summary = text.split("\n\n", 1)[0].removeprefix("## What it does").strip().split("\n")[0]
        return RuleInfo(cls.code, cls.name, cls.severity, cls.family(), summary, text, cls.fix_kind is not None)


def expected_lines(snippet: str) -> list[int]:
    """The 1-based lines of an INVALID snippet marked `# expect`."""
    return [number for number, line in enumerate(snippet.splitlines(), start=1) if line.rstrip().endswith(EXPECT_MARK)]
