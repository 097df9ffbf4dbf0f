"""Entry points: what a user actually runs, how to launch it, its options, its kind and its rank.

Found from `__main__` guards, `__main__.py`, module-level scripts, console scripts, Hydra, fire,
click, typer and LightningCLI, and the commands a README or shell script shows.
"""

from __future__ import annotations

import posixpath
import re
from collections import deque
from dataclasses import dataclass, field

import networkx as nx

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.model import EntryKind, EntryPoint, EntrySource, Evidence, FileInfo, Option, Role
from repo_reader.passes import options as option_finder
from repo_reader.passes.dict_options import DictBook
from repo_reader.passes.commands import ConsoleScript, ShownCommand
from repo_reader.scan.facts import DefFact, ModuleFacts, OptionFact

REACH_DEPTH = 8
KIND_WEIGHT = {EntryKind.TRAIN: 50, EntryKind.EVAL: 30, EntryKind.INFERENCE: 25, EntryKind.EXPORT: 10,
               EntryKind.DATA_PREP: 10, EntryKind.OTHER: 0}
INFERENCE_NAME = re.compile(r"(sample|generate|infer|predict|demo|chat|serve|app|detect)", re.I)
EXPORT_NAME = re.compile(r"(export|onnx|convert|trace_model|torchscript)", re.I)
DATA_NAME = re.compile(r"(prepare|preprocess|download|make_data|build_data|tokeni[sz]e|extract)", re.I)
EVAL_NAME = re.compile(r"(eval|test|valid|benchmark)", re.I)
EVAL_FLAGS = re.compile(r"\s--(eval|evaluate|test|test_only|eval_only|inference)(\s|=|$)")
FINETUNE_NAME = re.compile(r"(finetune|fine_tune|linprobe|lincls|linear_probe|probe)", re.I)
EXPORT_CALLS = ("torch.onnx.export", "torch.jit.trace", "torch.jit.script", "torch.export.export")


@dataclass(slots=True)
class _Candidate:
    path: str
    line: int
    col: int
    name: str  # call-graph node the entry starts at
    source: EntrySource
    facts: ModuleFacts
    function: DefFact | None = None
    evidence: list[Evidence] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    command: str = ""
    config_path: str | None = None


@dataclass(frozen=True, slots=True)
class EntryInputs:
    modules: tuple[ModuleFacts, ...]
    graph: nx.DiGraph
    symbols: SymbolTable
    classes: ClassIndex
    files: dict[str, FileInfo]
    shown: list[ShownCommand]
    scripts: list[ConsoleScript]
    texts: dict[str, str]


def find_entry_points(inputs: EntryInputs) -> tuple[EntryPoint, ...]:
    candidates = _candidates(inputs)
    reaches = [reachable(inputs.graph, candidate.name) for candidate in candidates]
    _credit_launched_scripts(candidates, reaches, inputs.graph)
    book = DictBook(inputs.modules, inputs.symbols) if any(facts.dict_options for facts in inputs.modules) else None
    scored = []
    for candidate, reach in zip(candidates, reaches):
        kind, reason = _kind(candidate, reach, inputs)
        candidate.evidence.append(Evidence(reason, KIND_WEIGHT[kind]))
        if not candidate.options:
            candidate.options = _argparse_options(candidate, reach, inputs, book)
        score = _score(candidate, kind, inputs)
        scored.append((score, candidate, kind))
    scored.sort(key=lambda item: (-item[0], item[1].path, item[1].line))
    return tuple(
        EntryPoint(c.path, c.line, c.col, c.name, kind, rank, c.source, c.command or _default_command(c),
                   tuple(c.options), max(10, min(99, score)), tuple(c.evidence), c.config_path)
        for rank, (score, c, kind) in enumerate(scored, start=1)
    )


def _credit_launched_scripts(candidates: list[_Candidate], reaches: list[dict[str, int]], graph: nx.DiGraph) -> None:
    """A launcher the docs show (`python submitit_pretrain.py ...`, a cluster wrapper) runs another
    script's main(), often from a method the launcher hands to a job queue (`Trainer.__call__`): that
    script is launched in the docs too, one step removed."""
    by_module = {c.facts.module: c for c in candidates if c.source == EntrySource.MAIN_GUARD}
    for launcher, reach in zip(candidates, reaches):
        shown = next((e for e in launcher.evidence if e.reason.startswith("launched in ")), None)
        if shown is None:
            continue
        prefix = launcher.facts.module + "."
        own = [node for node in graph.nodes if node.startswith(prefix)]
        for node in {*reach, *(successor for name in own for successor in graph.successors(name))}:
            module, _, function = node.rpartition(".")
            target = by_module.get(module)
            if target is None or target is launcher or not function.startswith(("main", "train", "run")):
                continue
            if not any(e.reason.startswith("launched") for e in target.evidence):
                where = shown.reason.removeprefix("launched in ").split(":", 1)[0]
                target.evidence.append(Evidence(f"launched through {launcher.path} in {where}", 30))


def reachable(graph: nx.DiGraph, start: str, depth: int = REACH_DEPTH) -> dict[str, int]:
    """Repo nodes reachable from `start`, with their distance (breadth-first, bounded)."""
    if start not in graph:
        return {}
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if seen[node] >= depth:
            continue
        for successor in graph.successors(node):
            if successor not in seen and graph.nodes[successor].get("internal"):
                seen[successor] = seen[node] + 1
                queue.append(successor)
    return seen


# -- finding candidates -------------------------------------------------------------------------------
def _candidates(inputs: EntryInputs) -> list[_Candidate]:
    found: list[_Candidate] = []
    by_module = {facts.module: facts for facts in inputs.modules}
    imported = {fact.target for facts in inputs.modules for fact in facts.imports}
    for facts in inputs.modules:
        role = inputs.files[facts.path].role if facts.path in inputs.files else Role.OTHER
        if facts.path.endswith("__main__.py"):
            found.append(_Candidate(facts.path, 1, 1, facts.module, EntrySource.DUNDER_MAIN, facts,
                                    evidence=[Evidence("package __main__.py (python -m)", 30)]))
        elif facts.main_guard is not None:
            path, line = facts.where(facts.main_guard)
            found.append(_Candidate(path, line, 1, facts.module, EntrySource.MAIN_GUARD, facts,
                                    evidence=[Evidence(f'if __name__ == "__main__" at line {line}', 30)]))
        elif _works_at_module_level(facts, role) and facts.module not in imported:
            first = _first_work_line(facts)
            path, line = facts.where(first)
            found.append(_Candidate(path, line, 1, facts.module, EntrySource.MODULE_LEVEL, facts,
                                    evidence=[Evidence("does its work at module level, with no __main__ guard", 20)]))
        _decorated(facts, found)
    for script in inputs.scripts:
        script_facts = by_module.get(script.module)
        function = _function(script_facts, script.function) if script_facts else None
        if script_facts is None or function is None:
            continue
        path, line = script_facts.where(function.line)
        found.append(_Candidate(path, line, function.col, f"{script_facts.module}.{script.function}",
                                EntrySource.CONSOLE_SCRIPT, script_facts, function,
                                [Evidence(f"console script `{script.name}` in {script.source}", 30)],
                                command=script.name))
    _merge_framework_entries(found)
    for candidate in found:
        _attach_command(candidate, inputs.shown)
        _attach_framework_options(candidate, inputs)
    return found


def _works_at_module_level(facts: ModuleFacts, role: Role) -> bool:
    if facts.is_package or role == Role.TEST:
        return False
    top = [call for call in facts.calls if not call.scope]
    trains = any(call.callee.endswith((".backward", ".fit", ".step")) for call in top)
    return trains or (facts.module_loops > 0 and any(call.callee.endswith(("main", "run")) for call in top))


def _first_work_line(facts: ModuleFacts) -> int:
    """The first module-level loop (the training loop of a script), else the first module-level call."""
    if facts.first_loop_line is not None:
        return facts.first_loop_line
    lines = [call.line for call in facts.calls if not call.scope]
    return min(lines) if lines else 1


def _decorated(facts: ModuleFacts, found: list[_Candidate]) -> None:
    """Hydra, click and typer decorate the function that runs; fire is a call."""
    for definition in facts.definitions:
        for decorator in definition.decorators:
            if decorator.startswith(("hydra.main(", "main(")) and "config" in decorator:
                config = re.search(r"config_path\s*=\s*['\"]([^'\"]*)['\"]", decorator)
                name = re.search(r"config_name\s*=\s*['\"]([^'\"]*)['\"]", decorator)
                path, line = facts.where(definition.line)
                config_path = posixpath.normpath(posixpath.join(posixpath.dirname(facts.path), config.group(1))) if config else None
                if config_path and name:
                    config_path = f"{config_path}/{name.group(1)}.yaml"
                found.append(_Candidate(path, line, definition.col, f"{facts.module}.{definition.qualname}",
                                        EntrySource.HYDRA, facts, definition,
                                        [Evidence(f"@hydra.main at line {line}", 30)], config_path=config_path))
            elif re.match(r"(\w+\.)?command\(", decorator):
                source = EntrySource.CLICK if decorator.startswith("click.") else EntrySource.TYPER
                path, line = facts.where(definition.line)
                found.append(_Candidate(path, line, definition.col, f"{facts.module}.{definition.qualname}",
                                        source, facts, definition, [Evidence(f"@{decorator} at line {line}", 25)]))
    for call in facts.calls:
        if call.callee in ("fire.Fire", "Fire") and call.refs and call.refs[0]:
            function = _function(facts, call.refs[0])
            if function:
                path, line = facts.where(call.line)
                found.append(_Candidate(path, line, call.col, f"{facts.module}.{function.qualname}",
                                        EntrySource.FIRE, facts, function, [Evidence(f"fire.Fire at line {line}", 25)]))


def _merge_framework_entries(found: list[_Candidate]) -> None:
    """A Hydra/click/fire function in a file that also has a __main__ guard is one entry, not two."""
    guards = {c.facts.module: c for c in found if c.source == EntrySource.MAIN_GUARD}
    for candidate in list(found):
        guard = guards.get(candidate.facts.module)
        if guard is not None and candidate.source in (EntrySource.HYDRA, EntrySource.CLICK, EntrySource.TYPER,
                                                      EntrySource.FIRE):
            candidate.evidence = guard.evidence + candidate.evidence
            candidate.line, candidate.col = guard.line, guard.col
            found.remove(guard)
            guards.pop(candidate.facts.module)


def _function(facts: ModuleFacts, name: str) -> DefFact | None:
    return next((d for d in facts.definitions if d.qualname == name and d.kind != "class"), None)


def _attach_command(candidate: _Candidate, shown: list[ShownCommand]) -> None:
    """The first command the README (then scripts) shows for this file, if any."""
    path = candidate.facts.path
    module = candidate.facts.module
    matching = [
        command for command in shown
        if (command.is_module and command.target in (module, module.removesuffix(".__main__"))) or (
            not command.is_module and (command.target == path or path.endswith("/" + command.target)))
    ]
    # A real launch beats `--help`, and a training launch an evaluation-only one (`--eval --resume ckpt`);
    # the README's order is kept otherwise.
    matching.sort(key=lambda command: (command.text.endswith((" --help", " -h")), bool(EVAL_FLAGS.search(command.text))))
    if matching and not candidate.command:
        command = matching[0]
        candidate.command = command.text
        first = shown.index(command) == 0 or all(c.target == command.target for c in shown[: shown.index(command)])
        weight = 35 if first and command.source.lower().startswith("readme") else 30
        candidate.evidence.append(Evidence(f"launched in {command.source}: `{command.text}`", weight))


def _attach_framework_options(candidate: _Candidate, inputs: EntryInputs) -> None:
    if candidate.source == EntrySource.HYDRA and candidate.config_path:
        text = inputs.texts.get(candidate.config_path)
        if text is not None:
            candidate.options = option_finder.from_yaml(text, candidate.config_path)
    elif candidate.source == EntrySource.CLICK and candidate.function:
        candidate.options = option_finder.from_click(candidate.function, candidate.facts)
    elif candidate.source in (EntrySource.TYPER, EntrySource.FIRE) and candidate.function:
        candidate.options = option_finder.from_signature(candidate.function, facts=candidate.facts)
    else:
        settings = option_finder.from_module_settings(candidate.facts)
        if settings:
            candidate.options = settings
            candidate.evidence.append(Evidence("module-level settings overridable as --key=value", 10))
        _lightning_cli(candidate, inputs)


def _lightning_cli(candidate: _Candidate, inputs: EntryInputs) -> None:
    for call in candidate.facts.calls:
        if not call.callee.endswith("LightningCLI"):
            continue
        candidate.source = EntrySource.LIGHTNING_CLI
        options: list[Option] = []
        for prefix, reference in zip(("--model.", "--data."), call.refs):
            qualname = inputs.symbols.resolve(candidate.facts.module, reference).qualname
            init = inputs.classes.find_method(qualname, "__init__") if qualname in inputs.classes.classes else None
            if init:
                facts = next(f for f in inputs.modules if f.module == inputs.classes.classes[init.rsplit(".", 1)[0]].module)
                definition = _function(facts, init[len(facts.module) + 1 :])
                if definition:
                    options += option_finder.from_signature(definition, prefix, facts)
        candidate.options = options
        candidate.evidence.append(Evidence(f"LightningCLI at line {call.line} (subcommands fit/validate/test/predict)", 30))
        return


def _argparse_options(candidate: _Candidate, reach: dict[str, int], inputs: EntryInputs,
                      book: DictBook | None) -> list[Option]:
    def reached(facts: ModuleFacts, scope: str) -> bool:
        node = f"{facts.module}.{scope}" if scope else facts.module
        return node in reach or (facts is candidate.facts and (not scope or node.startswith(candidate.name)))

    found: list[tuple[int, ModuleFacts, OptionFact, int | None]] = []
    overrides: dict[str, str] = {}  # `parser.set_defaults(lr=0.01)` beats `add_argument(..., default=0.1)`
    for facts in inputs.modules:
        start = len(found)
        found += [(option.line, facts, option, None) for option in facts.options if reached(facts, option.scope)]
        for generated in facts.dict_options:  # `for k, v in d.items(): parser.add_argument(f"--{k}", ...)`
            if book is not None and reached(facts, generated.scope):
                found += [(generated.line, *option) for option in book.options(facts, generated, reached)]
        found[start:] = sorted(found[start:], key=lambda item: item[0])  # stable: a dict's keys keep their order
        if facts.options or facts.dict_options or facts is candidate.facts:
            for call in facts.calls:
                if call.callee.endswith(".set_defaults") and reached(facts, call.scope):
                    overrides.update(_keyword_values(call.args))
    return option_finder.from_argparse([item[1:] for item in found], overrides)


def _keyword_values(args: tuple[str, ...]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args if "=" in arg and not arg.startswith("**")
                and arg.split("=", 1)[0].isidentifier())


# -- judging ------------------------------------------------------------------------------------------
def _kind(candidate: _Candidate, reach: dict[str, int], inputs: EntryInputs) -> tuple[EntryKind, str]:
    callees: set[str] = set()
    raw: set[str] = set()
    for node in reach:
        for _, callee, data in inputs.graph.out_edges(node, data=True):
            callees.add(callee)
            raw.update(site.callee for site in data["sites"])
    name = candidate.path.rsplit("/", 1)[-1]
    trains = any(c.endswith(".backward") for c in callees) or any(c.endswith((".fit", "LightningCLI")) for c in callees)
    if candidate.source == EntrySource.LIGHTNING_CLI or (trains and not EVAL_NAME.search(name) or trains and "train" in name):
        return EntryKind.TRAIN, "reaches a training loop (backward/step or Trainer.fit)"
    if EXPORT_NAME.search(name):
        return EntryKind.EXPORT, "exports the model (ONNX/TorchScript/torch.export)"
    if INFERENCE_NAME.search(name) or INFERENCE_NAME.search(candidate.name.rsplit(".", 1)[-1]):
        return EntryKind.INFERENCE, f"inference script ({name})"
    if EVAL_NAME.search(name) and not trains:  # `test.py` that can also --trace the model is still a test run
        return EntryKind.EVAL, "evaluates a model (eval()/no_grad or its name)"
    if any(c in EXPORT_CALLS for c in callees):
        return EntryKind.EXPORT, "exports the model (ONNX/TorchScript/torch.export)"
    if trains:
        return EntryKind.TRAIN, "reaches a training loop (backward/step)"
    if EVAL_NAME.search(name) or any(c.endswith(".eval") for c in callees):
        return EntryKind.EVAL, "evaluates a model (eval()/no_grad or its name)"
    if DATA_NAME.search(name):
        return EntryKind.DATA_PREP, f"data preparation script ({name})"
    return EntryKind.OTHER, "no training, evaluation or export found"


def _score(candidate: _Candidate, kind: EntryKind, inputs: EntryInputs) -> int:
    score = KIND_WEIGHT[kind] + sum(e.weight for e in candidate.evidence if e.reason.startswith(("launched", "console")))
    depth = candidate.path.count("/")
    score -= 5 * depth
    name = candidate.path.rsplit("/", 1)[-1]
    if name in ("train.py", "main.py", "run.py", "__main__.py") or name.startswith(("train", "main")):
        score += 10
    if kind == EntryKind.TRAIN and EVAL_NAME.search(name):
        score -= 10  # `eval_linear.py` trains a probe, but the main training script comes first
    elif kind == EntryKind.TRAIN and FINETUNE_NAME.search(name):
        score -= 5  # fine-tuning and linear probing start from what the pre-training script makes
    role = inputs.files.get(candidate.facts.path)
    if role is not None and role.role == Role.TEST:
        score -= 40
    if candidate.path.endswith(".ipynb") or "#cell" in candidate.path:
        score -= 20
    return score


def _default_command(candidate: _Candidate) -> str:
    path = candidate.facts.path
    if candidate.source == EntrySource.DUNDER_MAIN:
        return f"python -m {candidate.facts.module.removesuffix('.__main__')}"
    if candidate.source == EntrySource.LIGHTNING_CLI:
        return f"python {path} fit"
    if path.endswith(".ipynb"):
        return f"jupyter notebook {path}"
    relative_imports = candidate.facts.is_package or "." in candidate.facts.module and any(
        fact.target.startswith(candidate.facts.module.rsplit(".", 1)[0] + ".") for fact in candidate.facts.imports
    )
    if relative_imports and "/" in path and not path.startswith(("tools/", "scripts/")):
        return f"python -m {candidate.facts.module}"
    return f"python {path}"
