"""Which models are trained: the ones whose parameters an optimizer receives.

`torch.optim.AdamW(model.parameters())`, `SGD(itertools.chain(G.parameters(), D.parameters()))`,
`params = get_params_groups(student); AdamW(params)`, `create_optimizer_v2(model, ...)`: each names
the module being trained, and the type index says which repo class that module is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex
from repo_reader.scan.facts import CallFact, ModuleFacts

# `model.parameters()`, `self.net.module.named_parameters()`: the module is what comes before.
PARAMETERS = re.compile(r"([A-Za-z_][\w.]*?)(?:\.module)?\.(?:named_)?parameters\(")
NAME = re.compile(r"^[A-Za-z_][\w.]*$")
# Factories that take the model itself and build its optimizer (timm, MAE/DeiT-style helpers).
OPTIMIZER_FACTORIES = re.compile(r"(^|\.)(create_optimizer\w*|build_optimizer\w*|make_optimizer\w*|get_optimizer\w*|"
                                 r"configure_optimizers?)$")
WRAPPER_SUFFIXES = (".module", "_without_ddp", "_ddp")


@dataclass(frozen=True, slots=True)
class TrainedBy:
    """A repo model whose parameters an optimizer receives, and where."""

    qualname: str
    path: str
    line: int
    caller: str  # call-graph node of the code that builds the optimizer
    optimizer: str  # resolved optimizer class or factory


def find_trained(modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex,
                 types: TypeIndex) -> tuple[TrainedBy, ...]:
    found: dict[tuple[str, str, int], TrainedBy] = {}
    for facts in modules:
        calls_by_line: dict[int, list[CallFact]] = {}
        for call in facts.calls:
            calls_by_line.setdefault(call.line, []).append(call)
        for call in facts.calls:
            optimizer = _optimizer(facts, call, symbols, classes)
            if optimizer is None:
                continue
            path, line = facts.where(call.line)
            caller = f"{facts.module}.{call.scope}" if call.scope else facts.module
            for reference in _trained_references(facts, call, optimizer, calls_by_line):
                qualname = _model_type(facts, call.scope, reference, types, classes)
                if qualname is not None:
                    found.setdefault((qualname, path, line), TrainedBy(qualname, path, line, caller, optimizer))
    return tuple(found.values())


def _optimizer(facts: ModuleFacts, call: CallFact, symbols: SymbolTable, classes: ClassIndex) -> str | None:
    """The optimizer class (torch's or a repo subclass of it) or factory this call builds, if any."""
    if not call.callee:
        return None
    qualname = symbols.resolve(facts.module, call.callee).qualname
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torch.optim.") and last[:1].isupper() and "lr_scheduler" not in qualname \
            and last not in ("Optimizer",):
        return qualname
    if qualname in classes.classes and classes.derives_from(qualname, "torch.optim."):
        return qualname
    if OPTIMIZER_FACTORIES.search(qualname) and not call.callee.startswith("self."):
        return qualname
    return None


def _trained_references(facts: ModuleFacts, call: CallFact, optimizer: str,
                        calls_by_line: dict[int, list[CallFact]]) -> list[str]:
    """The dotted references of the modules whose parameters this optimizer call receives."""
    texts = list(call.args[:1]) or [ref for ref in call.refs[:1] if ref]
    if OPTIMIZER_FACTORIES.search(optimizer):  # `create_optimizer(args, model)`: every module-like argument
        texts = list(call.args) or list(call.refs)
    references: list[str] = []
    for text in texts:
        named = PARAMETERS.findall(text)
        if named:
            references += named
        elif NAME.match(text):
            references += _assigned_from(facts, call.scope, text, calls_by_line) or [text]
    return [_unwrapped(reference) for reference in references]


def _assigned_from(facts: ModuleFacts, scope: str, name: str, calls_by_line: dict[int, list[CallFact]]) -> list[str]:
    """`params = helper(model, ...)` or `params = model.parameters()`: the modules on that line."""
    found: list[str] = []
    for assign in facts.assigns:
        if assign.scope != scope or assign.target != name:
            continue
        for call in calls_by_line.get(assign.line, []):
            for text in (*call.args, *call.refs):
                found += PARAMETERS.findall(text)
            found += [ref for ref in call.refs if ref and NAME.match(ref) and not ref.endswith("()")]
            if call.callee.endswith(".parameters") or call.callee.endswith(".named_parameters"):
                found.append(call.callee.rsplit(".", 1)[0])
    return found


def _unwrapped(reference: str) -> str:
    for suffix in WRAPPER_SUFFIXES:
        if reference.endswith(suffix) and len(reference) > len(suffix):
            return reference[: -len(suffix)]
    return reference


def _model_type(facts: ModuleFacts, scope: str, reference: str, types: TypeIndex, classes: ClassIndex) -> str | None:
    for candidate in dict.fromkeys((reference, reference + "_without_ddp")):
        qualname = types.type_of_reference(facts.module, scope, candidate)
        if qualname and qualname in classes.classes and classes.classes[qualname].framework:
            return qualname
    return None
