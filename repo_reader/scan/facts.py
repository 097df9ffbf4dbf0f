"""Per-file facts: what one module imports, defines, calls and assigns, before any cross-file judgement.

Records are NamedTuples (cheap to build, compact to pickle into the cache). Imports only the stdlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from repo_reader.model import line_text


class ImportFact(NamedTuple):
    local: str  # the name bound in this module ("nn"), "*" for a star import
    target: str  # absolute dotted target ("torch.nn", "pkg.models.AutoEncoder")
    line: int
    col: int


class Param(NamedTuple):
    name: str
    annotation: str  # source text, "" when absent
    default: str | None  # source text, None when the parameter has no default
    kind: str  # positional | vararg | keyword | varkw


class DefFact(NamedTuple):
    qualname: str  # "Net.forward" within the module
    kind: str  # class | function | method
    line: int
    col: int
    end_line: int
    params: tuple[Param, ...]
    decorators: tuple[str, ...]  # source text ("torch.no_grad()", "MODELS.register('x')")
    bases: tuple[str, ...]  # dotted source text of base classes
    docstring: str | None
    is_async: bool = False


class CallFact(NamedTuple):
    scope: str  # qualname of the enclosing function/class, "" for module-level code
    callee: str  # dotted text ("self.encoder", "torch.optim.SGD", "foo()"); "" if not a name chain
    line: int
    col: int
    args: tuple[str, ...]  # source text of each argument; kept only for class-like callees
    keywords: tuple[str, ...]  # keyword names used
    in_loop: bool
    refs: tuple[str, ...] = ()  # dotted text of each positional argument ("" when not a name chain)
    keyword_refs: tuple[tuple[str, str], ...] = ()  # (keyword, dotted text of its value)
    # value texts (see FlowFact) of the arguments, only where one differs from its ref: a lambda, a
    # container, `partial(f)`, `*args` ("*args"), `**kwargs` (keyword "**")
    arg_values: tuple[str, ...] = ()
    keyword_values: tuple[tuple[str, str], ...] = ()
    callee_value: str = ""  # the callee's value text where it differs from `callee` (`ACT2FN[relu]`)
    # (position or keyword, repr of the value) of each argument that is a plain constant (`conv_nd(2, ...)`)
    literals: tuple[tuple[str, str], ...] = ()


class FlowFact(NamedTuple):
    """`target` may hold what `source` evaluates to (an assignment, a loop variable, a return, a store).

    Both are value texts: a dotted chain whose parts may end in `()` (the call's result), `[key]` or
    `[]` (an item; `[*]` any item, as a loop takes them), starting at a name or an atom: `<fn:q>` (the
    function defined as q, before its decorators), `<list@L:C:E>` (the container built there; also
    dict, tuple, set), `<lambda>`, `<partial(T)>`, `<module:m>`, `<return>`, `<global>x`, `<nonlocal>x`.
    """

    scope: str
    target: str
    source: str


class AssignFact(NamedTuple):
    scope: str
    target: str  # "model", "self.encoder"
    kind: str  # call | annotation | list | dict | tuple | alias | append | setattr
    value: str  # dotted callee text for calls, annotation text, aliased name
    line: int
    col: int
    in_loop: bool
    children: tuple[str, ...] = ()  # callee texts inside a container or Sequential(...)


class OptionFact(NamedTuple):
    scope: str
    flags: tuple[str, ...]
    dest: str
    default: str | None
    help: str | None
    type: str | None
    required: bool
    choices: tuple[str, ...]
    action: str | None
    line: int


class DictEntry(NamedTuple):
    key: str
    value: str  # source text of the value
    kind: str  # type of a constant value ("int", "float", "str", "bool", "None", "tuple"), "" when computed
    line: int
    col: int


class DictFact(NamedTuple):
    """What a dict bound to a name holds, in the order it is written: `name = dict(a=1)` or `{"a": 1}`
    (kind "bind"), `name.update(...)` (kind "update"), `return dict(...)` (target "<return>").

    `merged` is the dotted text of a whole dict merged in (`defaults()`, `other`, `**other`), "" when
    the entries are written out. A dict literal a loop iterates in place is bound to `<loop@LINE>`.
    """

    scope: str
    target: str
    kind: str  # bind | update
    merged: str
    entries: tuple[DictEntry, ...]
    line: int


class DictOptionFact(NamedTuple):
    """`for k, v in D.items(): parser.add_argument(f"--{k}", default=v)`: one option per key of D."""

    scope: str
    source: str  # dotted text of the dict iterated (`default_dict`, `DEFAULTS`), or `<loop@LINE>`
    prefix: str  # what the flag spells before the key ("--")
    help: str | None
    line: int
    col: int


class BranchReturn(NamedTuple):
    """`if dims == 2: return nn.Conv2d(...)`: a return inside the body of an `if NAME == CONSTANT`."""

    scope: str
    name: str  # the name tested
    value: str  # repr of the constant it equals
    returned: str  # dotted callee or name returned, as in `ModuleFacts.returns`


class FieldFact(NamedTuple):
    owner: str  # class qualname
    name: str
    annotation: str
    default: str | None
    line: int


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    path: str  # root-relative POSIX path
    module: str  # dotted module name ("models.resnet")
    is_package: bool  # an __init__.py
    lines: int
    imports: tuple[ImportFact, ...]
    definitions: tuple[DefFact, ...]
    calls: tuple[CallFact, ...]
    assigns: tuple[AssignFact, ...]
    options: tuple[OptionFact, ...]
    fields: tuple[FieldFact, ...]
    returns: tuple[tuple[str, str], ...]  # (scope, dotted callee or name returned)
    globals: tuple[str, ...]  # names bound at module level
    exports: tuple[str, ...] | None  # a literal __all__, if any
    main_guard: int | None  # line of `if __name__ == "__main__":`
    module_loops: int  # for/while loops in module-level code
    first_loop_line: int | None  # where the first of them starts
    docstring: str | None
    flows: tuple[FlowFact, ...] = ()
    # calls no parentheses spell: `with` (__enter__/__exit__), `for` (__iter__), `x[i]`, `a + b`, `k in c`,
    # property reads; resolved only where they reach a method of the repo
    implicit_calls: tuple[CallFact, ...] = ()
    decorator_calls: tuple[CallFact, ...] = ()  # `@deco` applied: deco(<fn:f>)
    cell_starts: tuple[int, ...] = ()  # notebooks: first line of each code cell in the joined text
    cell_numbers: tuple[int, ...] = ()
    dicts: tuple[DictFact, ...] = ()
    dict_options: tuple[DictOptionFact, ...] = ()
    branch_returns: tuple[BranchReturn, ...] = ()

    def where(self, line: int) -> tuple[str, int]:
        """The displayable path and line; a notebook line becomes `nb.ipynb#cell3` and its cell line."""
        if not self.cell_starts:
            return self.path, line
        index = 0
        for position, start in enumerate(self.cell_starts):
            if start <= line:
                index = position
        return f"{self.path}#cell{self.cell_numbers[index]}", line - self.cell_starts[index] + 1

    def line_text(self, line: int) -> str:
        """`line 8`, or `cell 4, line 8` in a notebook: how evidence names a line of this file."""
        return line_text(*self.where(line))
