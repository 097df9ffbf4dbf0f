"""Result types shared by every layer: frozen dataclasses and StrEnums.

Imports only the standard library. Passes build these; renderers read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

SCHEMA_VERSION = 1


class ExitCode(IntEnum):
    OK = 0
    FOUND = 1  # `check` found something; `trace` could not trace any model
    USAGE = 2
    INTERNAL = 3  # a bug in repo-reader: one line on stderr (REPO_READER_DEBUG=1 shows the traceback)


class Role(StrEnum):
    DATALOADER = "dataloader"
    MODEL = "model"
    TRAIN = "train"
    EVAL = "eval"
    UTILS = "utils"
    CONFIG = "config"
    TEST = "test"
    OTHER = "other"


class EntryKind(StrEnum):
    TRAIN = "train"
    EVAL = "eval"
    INFERENCE = "inference"
    EXPORT = "export"
    DATA_PREP = "data-prep"
    OTHER = "other"


class EntrySource(StrEnum):
    """How an entry point was found."""

    MAIN_GUARD = "main-guard"
    DUNDER_MAIN = "__main__.py"
    MODULE_LEVEL = "module-level"
    CONSOLE_SCRIPT = "console-script"
    HYDRA = "hydra"
    FIRE = "fire"
    CLICK = "click"
    TYPER = "typer"
    LIGHTNING_CLI = "lightning-cli"


NOTEBOOK_CELL = "#cell"  # a notebook location's path: `nb.ipynb#cell4`, its line counted within the cell


def notebook_cell(path: str) -> tuple[str, int | None]:
    """(`nb.ipynb`, 4) for `nb.ipynb#cell4`; (path, None) for any other file."""
    notebook, marker, cell = path.partition(NOTEBOOK_CELL)
    return (notebook, int(cell)) if marker and cell.isdigit() else (path, None)


def line_text(path: str, line: int) -> str:
    """How evidence names a line shown in `path`: `line 8`, or `cell 4, line 8` in a notebook."""
    cell = notebook_cell(path)[1]
    return f"line {line}" if cell is None else f"cell {cell}, line {line}"


def place_text(path: str, line: int | None = None, col: int | None = None) -> str:
    """`path:line:col`, or `nb.ipynb cell 4, line 5` for a notebook: the notebook's own path, which an
    editor opens, then the cell (its column is left out)."""
    file, cell = notebook_cell(path)
    if cell is not None:
        return f"{file} cell {cell}" + (f", line {line}" if line is not None else "")
    where = path
    if line is not None:
        where += f":{line}"
        if col is not None:
            where += f":{col}"
    return where


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in the repository; `line` and `col` are 1-based, `path` is root-relative POSIX."""

    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind an inference, with its weight towards the conclusion (0-100)."""

    reason: str
    weight: int


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    module: str
    role: Role
    confidence: int
    evidence: tuple[Evidence, ...]
    lines: int
    notebook: bool = False


@dataclass(frozen=True, slots=True)
class ScanWarning:
    path: str
    message: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A command-line option of an entry point. `default` is source text (`'0.1'`, `'"adam"'`)."""

    name: str
    flags: tuple[str, ...]
    default: str | None
    help: str | None
    type: str | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    line: int | None = None
    at: Location | None = None  # where it is declared (`add_argument(`, the parameter's function, the YAML key)


@dataclass(frozen=True, slots=True)
class EntryPoint:
    path: str
    line: int
    col: int
    name: str  # qualified name of the code that runs: `train.main` or the module `train`
    kind: EntryKind
    rank: int
    source: EntrySource
    command: str
    options: tuple[Option, ...]
    confidence: int
    evidence: tuple[Evidence, ...]
    config_path: str | None = None  # Hydra `config_path/config_name`, a YAML the entry loads


@dataclass(frozen=True, slots=True)
class Submodule:
    """A layer assigned in a model's `__init__` (`self.name = ...`)."""

    name: str
    type: str  # resolved qualified name of what is built, or the expression when unresolved
    line: int
    col: int
    container: str = ""  # "" | Sequential | ModuleList | ModuleDict | list | dict | tuple
    in_loop: bool = False
    children: tuple[str, ...] = ()  # types inside a container


@dataclass(frozen=True, slots=True)
class ConstructionSite:
    path: str
    line: int
    col: int
    caller: str  # qualified name of the function (or module) that builds the model
    args: tuple[str, ...]  # source text of each argument, keywords as `name=expr`


@dataclass(frozen=True, slots=True)
class ConfigLayer:
    """One row of a YAML layer list (`[from, number, module, args]`, yolov5-style) a builder reads."""

    index: int  # position in the built nn.Sequential, counted across the file's lists
    section: str  # the list's key (`backbone`, `head`)
    source: str  # `from` as written: `-1`, `[-1, 6]`
    repeats: str  # `number` as written
    module: str  # the module name as written (`C3`, `nn.Upsample`)
    type: str  # its resolved qualified name, or the name as written when unresolved
    args: str  # as written: `[64, 6, 2, 2]`
    line: int  # where the row is written in the YAML file
    col: int
    defined_at: Location | None = None  # where the repo defines the class


@dataclass(frozen=True, slots=True)
class ModelInfo:
    qualname: str
    path: str
    line: int
    col: int
    bases: tuple[str, ...]
    framework: str  # "torch" | "lightning" | "transformers" | ...
    top_level: bool
    top_level_reason: str
    submodules: tuple[Submodule, ...]
    contains: tuple[str, ...]  # qualnames of the repo's own models used as submodules
    constructed_at: tuple[ConstructionSite, ...]
    forward: Location | None
    init_params: tuple[str, ...] = ()  # `__init__` parameters as source (`depth=18`)
    factories: tuple[str, ...] = ()  # public functions that build it (`timm.models.vit.vit_base_patch16_224`)
    layers: tuple[ConfigLayer, ...] = ()  # the layer list a YAML file gives its builder (`parse_model`)
    layers_from: Location | None = None  # that YAML file, at its first layer list
    layers_builder: str = ""  # the function that builds them (`models.yolo.parse_model`)


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    qualname: str
    path: str
    line: int
    col: int
    bases: tuple[str, ...]
    getitem: Location | None
    length: Location | None
    constructed_at: tuple[ConstructionSite, ...]


@dataclass(frozen=True, slots=True)
class CallEdge:
    caller: str
    callee: str  # `module.qualname`, `torch.optim.AdamW`, `<builtin>.len`, or the raw expression
    path: str
    line: int
    col: int
    resolved: bool
    kind: str = "call"  # call | construct | module-call (nn.Module instance called -> forward)


@dataclass(frozen=True, slots=True)
class Definition:
    """A function, method or class defined in the repo: the nodes of the call graph."""

    qualname: str
    kind: str  # function | method | class | module
    path: str
    line: int
    col: int
    signature: str
    docstring: str | None
    end_line: int


@dataclass(frozen=True, slots=True)
class Chain:
    entry: str
    target: str
    calls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RepoMap:
    root: str
    files: tuple[FileInfo, ...]
    entry_points: tuple[EntryPoint, ...]
    models: tuple[ModelInfo, ...]
    datasets: tuple[DatasetInfo, ...]
    definitions: tuple[Definition, ...]
    edges: tuple[CallEdge, ...]
    chains: tuple[Chain, ...]
    frameworks: tuple[str, ...]
    warnings: tuple[ScanWarning, ...]
    total_lines: int
    schema_version: int = SCHEMA_VERSION
    readme_commands: tuple[str, ...] = field(default=())

    def ranked_top_level(self) -> list[ModelInfo]:
        """The top-level models, the ones to read first first (see `rank_top_level`)."""
        return self.rank_top_level(self.models)

    @staticmethod
    def rank_top_level(models: Iterable[ModelInfo]) -> list[ModelInfo]:
        """Top-level models by how telling their reason is (`TOP_LEVEL_REASONS`), then by how many
        factory functions build them (a library's flagship), then the biggest networks."""
        return sorted((model for model in models if model.top_level),
                      key=lambda model: (top_level_order(model.top_level_reason), -len(model.factories),
                                         -len(model.contains), -len(model.submodules)))


# Most telling first: what a library's README builds (only when no documented script comes first),
# what the first-ranked entry point trains, what it builds, what other training
# entry points train and build, what any entry point builds; the rest (no entry point builds a model).
TOP_LEVEL_REASONS = ("built by the README's usage code", "trained by the first-ranked entry point", "constructed by the first-ranked entry point",
                     "trained by a training entry point", "constructed by a training entry point",
                     "constructed by an entry point")


def top_level_order(reason: str) -> int:
    return next((rank for rank, prefix in enumerate(TOP_LEVEL_REASONS) if reason.startswith(prefix)),
                len(TOP_LEVEL_REASONS))


# --- trace ---
# Result types of `repo-reader trace` (owned by repo_reader/trace/). Built in the child process,
# sent to the parent as JSON and decoded back into these types.

TRACE_SCHEMA_VERSION = 1


class TraceDevice(StrEnum):
    AUTO = "auto"
    META = "meta"
    FAKE = "fake"
    CPU = "cpu"
    CUDA = "cuda"


class TraceStatus(StrEnum):
    OK = "ok"
    MISSING_PACKAGE = "missing-package"
    IMPORT_ERROR = "import-error"
    CONSTRUCTOR_ERROR = "constructor-error"
    INPUT_ERROR = "input-error"  # no candidate input ran
    FORWARD_ERROR = "forward-error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    NO_DEVICE = "no-device"  # the device asked for (--device cuda) is not there


class FlagKind(StrEnum):
    NEVER_CALLED = "never-called"
    MODE_ONLY = "mode-only"  # ran in train mode or in eval mode, not both
    PLAIN_CONTAINER = "plain-container"
    NO_GRADIENT = "no-gradient"
    SHARED_PARAMETER = "shared-parameter"
    SHARED_MODULE = "shared-module"


@dataclass(frozen=True, slots=True)
class TracedValue:
    """What flowed through a module: a tensor's shape, or a container of traced values."""

    kind: str  # tensor | tuple | list | dict | dataclass | none | scalar | other
    shape: tuple[int, ...] = ()
    dtype: str = ""
    device: str = ""
    items: tuple[tuple[str, TracedValue], ...] = ()  # (index or key, value) for containers
    text: str = ""  # type name of a dataclass/other, repr of a scalar


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """One submodule of the traced model; `path` is its dotted name ("" for the model)."""

    path: str
    class_name: str
    class_qualname: str
    depth: int
    order: int  # position of its first call in execution order, -1 when never called
    calls: int
    inputs: TracedValue | None
    outputs: TracedValue | None
    own_params: int
    total_params: int  # shared/tied parameters counted once
    trainable_params: int
    flops: int  # inclusive of children; first call only
    macs: int
    defined_at: Location | None  # where the parent's `__init__` assigns it
    called_at: Location | None  # where the parent's `forward` calls it
    modes: tuple[str, ...] = ()  # "train" / "eval": modes in which it ran
    time_ms: float | None = None  # cuda only
    peak_memory: int | None = None  # cuda only, bytes


@dataclass(frozen=True, slots=True)
class TraceFlag:
    kind: FlagKind
    module: str  # module path, or parameter name for parameter flags
    location: Location | None
    message: str


@dataclass(frozen=True, slots=True)
class InputAttempt:
    """One candidate input of the synthesis ladder; `error` is None for the one that ran."""

    source: str  # user | example_input_array | dummy_inputs | first-layer | signature | ...
    description: str  # `x=2x3x32x32:float32`
    reason: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ConstructorArg:
    name: str  # keyword, or `#0` for a positional argument
    value: str  # repr of the value, or the source expression evaluated in the child
    source: str  # "argparse default of --depth", "--init", "construction site", ...


@dataclass(frozen=True, slots=True)
class Construction:
    method: str  # one line: how the model was built
    args: tuple[ConstructorArg, ...]
    notes: tuple[str, ...] = ()  # intercepted downloads, dropped arguments


@dataclass(frozen=True, slots=True)
class TraceFailure:
    message: str
    exception: str = ""  # exception type name
    location: Location | None = None  # innermost frame inside the repository
    package: str | None = None  # missing package
    importer: Location | None = None  # repo file that imports the missing package
    detail: tuple[str, ...] = ()  # repo frames of the traceback, or the child's stderr tail


@dataclass(frozen=True, slots=True)
class LineValue:
    """One thing a source line produced: a name it bound, the value it returned, or a submodule it called."""

    kind: str  # assign | return | call
    name: str  # the bound name, "return", or the called submodule (its attribute name, else its class)
    value: TracedValue  # the bound or returned value; a call's output
    inputs: TracedValue | None = None  # a call's inputs


@dataclass(frozen=True, slots=True)
class LineRun:
    """One distinct outcome of a line: what it produced, and how many times it produced exactly that."""

    values: tuple[LineValue, ...]
    count: int


@dataclass(frozen=True, slots=True)
class LineShapes:
    """A line of the repository's own code that ran inside the model's forward, with its distinct runs."""

    path: str  # root-relative POSIX path
    line: int  # the statement's first line
    function: str  # the enclosing function's qualified name inside its module (`GPT.forward`)
    function_line: int  # the function's first line (its `def`, or its first decorator)
    runs: tuple[LineRun, ...]  # in the order first seen
    more_runs: int = 0  # runs past the distinct ones kept (trace/lines.py MAX_RUNS_PER_LINE)


@dataclass(frozen=True, slots=True)
class SizeName:
    """A size that a dimension shows by name: the batch size `B`, the sequence length `T`, a config value."""

    name: str
    size: int
    source: str  # "batch size of the input", "config.n_embd"
    leading_only: bool = False  # the batch size names only a tensor's first dimension


@dataclass(frozen=True, slots=True)
class ModelTrace:
    qualname: str
    path: str
    status: TraceStatus
    device: str  # the device actually used ("" when nothing ran)
    device_notes: tuple[str, ...]
    construction: Construction | None
    input_attempts: tuple[InputAttempt, ...]
    modules: tuple[ModuleCall, ...]  # in registration order (named_modules)
    flags: tuple[TraceFlag, ...]
    total_params: int = 0
    trainable_params: int = 0
    flops: int = 0
    failure: TraceFailure | None = None
    backward: bool = False
    lines: tuple[LineShapes, ...] = ()  # recorded only when asked (`show`): shapes by source line
    size_names: tuple[SizeName, ...] = ()  # candidate names for sizes, best first


@dataclass(frozen=True, slots=True)
class WorkStep:
    """What a command that runs the repository's code is doing now, for its progress display:
    `building model.GPT on meta` (index 1 of total 3), then `model.GPT: ok, input 4x3x32x32:float32`."""

    key: str  # one line on the display per key (a model's qualname, the script the run route runs)
    text: str
    index: int = 0  # 1-based among `total`; 0: not counted
    total: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class ShapeTrace:
    root: str
    models: tuple[ModelTrace, ...]
    notice: str = "trace imports and runs the repository's code, in a child process"
    schema_version: int = TRACE_SCHEMA_VERSION
    not_traced: tuple[str, ...] = ()  # top-level models past --max-models, in reading order
    isolation: str = ""  # what the child processes ran under, one line ("" when none ran)


# --- show ---
# `repo-reader show`: a function's source with the shapes each line produced in the traced forward.

SHOW_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class AnnotatedLine:
    line: int
    source: str  # the line as written, without its newline
    runs: tuple[LineRun, ...] = ()  # empty: the line produced nothing to show (or did not run)
    more_runs: int = 0  # runs with yet other shapes, past those kept


@dataclass(frozen=True, slots=True)
class AnnotatedFunction:
    qualname: str  # `gpt.GPT.forward`
    path: str
    line: int  # where the definition starts (its first decorator, or `def`)
    col: int
    model: str  # the traced model whose forward ran it; "" when none did
    lines: tuple[AnnotatedLine, ...]
    size_names: tuple[SizeName, ...] = ()  # that model's names for sizes, best first


@dataclass(frozen=True, slots=True)
class ShownModel:
    """A model traced for `show`: whether it ran, on what, with which input."""

    qualname: str
    status: TraceStatus
    device: str
    input: str  # the input that ran (`idx=2x8:int64`); "" when none did
    message: str = ""  # the failure, when it did not run


@dataclass(frozen=True, slots=True)
class ShowReport:
    root: str
    target: str  # what the user asked for: `GPT.forward`, `models/gpt.py`
    functions: tuple[AnnotatedFunction, ...]
    models: tuple[ShownModel, ...]
    notice: str = "show imports and runs the repository's code, in a child process"
    isolation: str = ""
    schema_version: int = SHOW_SCHEMA_VERSION


# --- check ---
# Result types of `repo-reader check` (owned by repo_reader/lint/): rule metadata and findings.

CHECK_SCHEMA_VERSION = 2  # 2: every finding carries a confidence; the summary counts hidden ones
LOW_CONFIDENCE = 50  # findings below this are hidden unless `check --all`


class Severity(StrEnum):
    ERROR = "error"  # the code is wrong: a layer does not train, a loader raises
    WARNING = "warning"  # very likely a bug: evaluation with dropout on, a leaked graph
    INFO = "info"  # performance or hygiene: no workers, host syncs


class RuleFamily(StrEnum):
    STRUCTURE = "structure"  # RR1xx model structure
    MODE = "mode"  # RR2xx train/eval mode
    DATA = "data"  # RR3xx data loading
    OPTIMISATION = "optimisation"  # RR4xx
    PERFORMANCE = "performance"  # RR5xx


@dataclass(frozen=True, slots=True)
class RuleInfo:
    code: str  # "RR101"
    name: str  # kebab-case: "plain-container-layers"
    severity: Severity
    family: RuleFamily
    summary: str  # first line of the docstring
    explanation: str  # the whole docstring: What it does / Why is this bad / Example / Use instead
    fixable: bool = False


@dataclass(frozen=True, slots=True)
class Fix:
    """A safe rewrite, applied by `check --fix` through libcst (formatting kept)."""

    kind: str  # wrap-module-container | add-training-argument | add-non-blocking
    line: int  # 1-based position of the node the rewrite starts from
    col: int
    description: str


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    path: str  # root-relative POSIX path (notebooks: `nb.ipynb#cell3`)
    line: int  # 1-based
    col: int  # 1-based, in characters
    end_line: int | None = None
    end_col: int | None = None
    fix: Fix | None = None
    source: str = "static"  # static | dynamic
    detail: str = ""  # for dynamic findings: what was run
    confidence: int = 100  # 0-100 (vulture's scale): how sure the rule is that this is a real problem


@dataclass(frozen=True, slots=True)
class CheckReport:
    root: str
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...]  # the rules that ran
    files_checked: int
    lines_checked: int
    warnings: tuple[ScanWarning, ...] = ()
    fixed: int = 0  # rewrites applied by --fix
    schema_version: int = CHECK_SCHEMA_VERSION
    templates_skipped: tuple[str, ...] = ()  # code-generation templates (`modular_*.py`), not checked
    isolation: str = ""  # with --dynamic: what the child processes ran under, one line
    hidden: int = 0  # findings below LOW_CONFIDENCE left out (`check --all` shows them)


# --- navigate ---
# Result types of `repo-reader tour`, `goto`, `callers` and `callees` (owned by repo_reader/navigate/).

TOUR_SCHEMA_VERSION = 1


class StopKind(StrEnum):
    """The sections of the reading tour, in reading order."""

    README = "readme"
    ENTRY = "entry"
    CONFIG = "config"
    DATA = "data"
    MODEL = "model"
    OPTIMISATION = "optimisation"  # loss, optimizer, scheduler construction
    TRAINING = "training"  # the loop: backward, step, zero_grad
    EVALUATION = "evaluation"
    HELPER = "helper"


@dataclass(frozen=True, slots=True)
class StopDetail:
    """A line under a stop: a command, an option, or a call site (`at`) such as a DataLoader."""

    text: str
    at: Location | None = None


@dataclass(frozen=True, slots=True)
class TourStop:
    number: int
    kind: StopKind
    title: str  # "Dataset: dataset.SyntheticCIFAR.__getitem__"
    qualname: str  # the definition the stop is in ("" for the README or a YAML file)
    path: str  # root-relative (notebooks: `nb.ipynb#cell3`)
    line: int
    col: int
    signature: str
    summary: str  # docstring first line, or inferred from the code
    end_line: int  # last line of the definition, for excerpts
    details: tuple[StopDetail, ...] = ()
    next: tuple[str, ...] = ()  # qualified names of the repo code this stop calls, in call order
    score: float = 0.0  # centrality (PageRank seeded at the main entry point)


@dataclass(frozen=True, slots=True)
class Tour:
    root: str
    entry: str  # qualified name of the main entry point ("" when the repo has none)
    stops: tuple[TourStop, ...]
    skipped: tuple[StopKind, ...]  # sections the repository lacks
    dropped: int  # stops left out by the --max-stops budget
    schema_version: int = TOUR_SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Lookup:
    """`goto`: definitions matching a full or partial qualified name, best first."""

    query: str
    matches: tuple[Definition, ...]
    suggestions: tuple[str, ...] = ()  # closest names when nothing matched
    unparsed: tuple[ScanWarning, ...] = ()  # files that did not parse and may define the name


@dataclass(frozen=True, slots=True)
class CallStep:
    """One edge of a callers/callees walk: the call site, and where the other end is defined."""

    depth: int  # 1 for direct callers/callees
    caller: str
    callee: str
    site: Location
    resolved: bool
    kind: str
    defined_at: Location | None  # definition of the far end (callee for callees, caller for callers)
    repeated: bool = False  # already expanded above; not walked again


@dataclass(frozen=True, slots=True)
class CallWalk:
    symbol: str
    direction: str  # callers | callees
    depth: int
    defined_at: Location | None
    steps: tuple[CallStep, ...]


# --- editor views (`repo-reader lsp`) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerView:
    """What an editor shows over `self.attn` or a model class: the traced calls of it, and where it is built."""

    name: str  # `self.attn`, or the class's qualified name
    type: str  # qualified name of its class (`gpt.Attention`, `torch.nn.Linear`)
    built_at: tuple[Location, ...]  # the `self.attn = ...` assignment, or the model's construction sites
    calls: tuple[ModuleCall, ...] = ()  # its modules in the first traced model that has it (one per instance)
    flags: tuple[TraceFlag, ...] = ()  # the trace's flags on those modules
    size_names: tuple[SizeName, ...] = ()  # that model's names for sizes
