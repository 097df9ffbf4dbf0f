"""What the parent asks the child to trace: one model, picklable and JSON-ready. Stdlib only."""

from __future__ import annotations

import json
from dataclasses import dataclass

from repo_reader.model import ConstructorArg
from repo_reader.trace.codec import from_plain, to_plain


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One constructor argument. `value` is JSON text, or Python source when `is_expression`."""

    name: str | None  # None for a positional argument
    value: str
    source: str  # where the value came from, shown to the user
    is_expression: bool = False  # evaluated in the child, in the model module's namespace


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A user-given input: `x=2x3x224x224:float32` → name "x", shape, dtype."""

    name: str | None
    shape: tuple[int, ...]
    dtype: str = "float32"
    high: int = 0  # integer inputs: values in [0, high); 0 for the default


@dataclass(frozen=True, slots=True)
class ExampleInput:
    """An input the repository itself builds for the model (its tests, a `__main__` smoke test)."""

    inputs: tuple[InputSpec, ...]
    evidence: str  # `as built in tests/test_models.py:22 (tests)`


@dataclass(frozen=True, slots=True)
class SizeHint:
    """Evidence for an input size found in the repo (`RandomResizedCrop(224)`, CIFAR → 32)."""

    kind: str  # image-size | sequence-length | channels | classes
    value: int
    evidence: str  # `data.py:12: RandomResizedCrop(224)`


@dataclass(frozen=True, slots=True)
class TraceRequest:
    root: str  # absolute repository root
    sys_path: tuple[str, ...]  # absolute folders put first on sys.path (root, src/)
    module_name: str  # dotted module to import: `models.net`
    class_name: str  # qualname inside the module: `Net`
    qualname: str
    path: str  # root-relative file of the class
    args: tuple[ArgSpec, ...]
    method: str  # how the arguments were chosen, one line
    device: str = "auto"
    inputs: tuple[InputSpec, ...] = ()
    hints: tuple[SizeHint, ...] = ()
    backward: bool = False
    memory_limit: int = 0  # bytes of address space for the child; 0 = no limit
    notes: tuple[str, ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()  # (option dest, JSON default) of the entry point
    # (class qualname, attribute, line, col) of `self.attribute = ...` in `__init__`, from the static map
    assignments: tuple[tuple[str, str, int, int], ...] = ()
    examples: tuple[ExampleInput, ...] = ()  # inputs the repo builds for this model, best first
    factory: str = ""  # a classmethod that builds the model (`from_pretrained`); "" for the constructor
    # The run route: run this entry script (root-relative `path`) with these arguments to its optimizer.
    route: str = "static"  # static | run
    entry_argv: tuple[str, ...] = ()
    entry_module: str = ""  # the script's dotted module, for the classes it defines itself
    entry_command: str = ""  # as shown to the user: `python main_pretrain.py --batch_size 64`
    entry_folder: str = ""  # root-relative folder the command runs from ("" : the root)
    code_blocks: tuple[str, ...] = ()  # the README route: its Python code blocks, run in order
    code_names: tuple[str, ...] = ()  # where each block is compiled (`fit.ipynb#cell3`); "" : `README.md#blockN`
    package: str = ""  # the root is a package, imported under this name (its modules import each other relatively)
    record_lines: bool = False  # also record shapes by source line (`show`; trace/lines.py)

    def shown_args(self) -> tuple[ConstructorArg, ...]:
        """The arguments as the report shows them before the child evaluates them."""
        return tuple(ConstructorArg(spec.name or f"#{position}", spec.value, spec.source)
                     for position, spec in enumerate(self.args))

    def to_json(self) -> str:
        return json.dumps(to_plain(self))

    @staticmethod
    def from_json(text: str) -> TraceRequest:
        return from_plain(TraceRequest, json.loads(text))
