"""Runs rules over parsed files and turns their hits into findings, honouring `# noqa`.

Collect, then judge: per-file rules report as they go; rules that need the whole repo's attribute
usage (`needs_usage`) are filtered once every file has been read. No IO: text comes from `read`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from repo_reader.lint.context import LintContext, RepoView, parse
from repo_reader.lint.noqa import noqa_lines, silenced
from repo_reader.lint.rule import Hit, Rule
from repo_reader.lint.templates import generation_templates
from repo_reader.lint.usage import Usage
from repo_reader.model import Finding, Fix
from repo_reader.scan.collect import collect_facts
from repo_reader.scan.facts import ModuleFacts
from repo_reader.scan.nesting import TooDeep, walk_nested

FIX_DESCRIPTIONS = {
    "wrap-module-container": "wrap the container in nn.ModuleList / nn.ModuleDict",
    "add-training-argument": "add `training=self.training`",
    "add-non-blocking": "add `non_blocking=True`",
}


@dataclass(frozen=True, slots=True)
class LintResult:
    findings: tuple[Finding, ...]
    files: int
    lines: int
    templates: tuple[str, ...] = ()  # code-generation templates, not checked
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why): files too deeply nested to check


def lint_modules(modules: tuple[ModuleFacts, ...], read: Callable[[str], str | None],
                 rules: Iterable[type[Rule]]) -> LintResult:
    instances = [rule() for rule in rules]
    repo = RepoView(modules, read)
    usage = Usage() if any(rule.needs_usage for rule in instances) else None
    findings: list[Finding] = []
    deferred: list[tuple[Rule, tuple[str, ...], Finding]] = []
    skipped: list[tuple[str, str]] = []
    files = lines = 0
    templates = generation_templates(modules, read)
    for facts in modules:
        if facts.path in templates:
            continue
        text = read(facts.path)
        tree = parse(text, facts.path) if text is not None else None
        if tree is None or text is None:
            continue
        try:  # a fresh context per try: a walk that ran out of stack leaves nothing half-recorded
            hits = walk_nested(_check_file, instances, LintContext(facts, text, tree, repo), usage)
        except (TooDeep, MemoryError) as error:
            skipped.append((facts.path, f"not checked: {error or 'out of memory'}"))
            continue
        files += 1
        lines += facts.lines
        for rule, hit, finding in hits:
            if rule.needs_usage:
                deferred.append((rule, hit.key, finding))
            else:
                findings.append(finding)
    for rule, key, finding in deferred:
        if usage is not None and rule.keep(key, usage, repo):
            findings.append(finding)
    unique = sorted(set(findings), key=lambda f: (f.path, f.line, f.col, f.code, f.message))
    return LintResult(tuple(unique), files, lines, tuple(sorted(templates)), tuple(skipped))


def _check_file(instances: list[Rule], context: LintContext, usage: Usage | None) -> list[tuple[Rule, Hit, Finding]]:
    """Every rule's hits in one file, `# noqa` applied. Usage only grows sets, so a retry is harmless."""
    context.repo.remember(context.module, context.tree)
    if usage is not None:
        usage.collect(context)
    quiet = noqa_lines(context.text)
    hits = []
    for rule in instances:
        for hit in rule.check(context):
            if not silenced(quiet.get(getattr(hit.node, "lineno", 0)), rule.code):
                hits.append((rule, hit, to_finding(rule, hit, context)))
    return hits


def to_finding(rule: Rule, hit: Hit, context: LintContext) -> Finding:
    line = getattr(hit.node, "lineno", 1)
    col = context.column(hit.node)
    path, shown_line = context.facts.where(line)
    end_line = getattr(hit.node, "end_lineno", None)
    fix = None
    if hit.fix and not context.facts.cell_starts:  # notebooks are not rewritten
        fix = Fix(hit.fix, line, col, FIX_DESCRIPTIONS.get(hit.fix, hit.fix))
    confidence = rule.confidence if hit.confidence is None else max(0, min(100, hit.confidence))
    return Finding(rule.code, rule.name, rule.severity, hit.message, path, shown_line, col,
                   end_line + shown_line - line if end_line else None, None, fix, confidence=confidence)


def lint_source(text: str, rules: Iterable[type[Rule]], path: str = "example.py") -> list[Finding]:
    """Check one snippet as a one-file repository (rule examples, tests, --explain)."""
    tree = parse(text, path)
    if tree is None:
        raise ValueError(f"{path} does not parse")
    module = path.removesuffix(".py").replace("/", ".")
    facts = collect_facts(tree, text, path, module, False)
    return list(lint_modules((facts,), lambda _: text, rules).findings)
