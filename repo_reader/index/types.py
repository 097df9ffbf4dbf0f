"""What class a variable holds: locals, module globals, `self.x` attributes and, one step across calls,
parameters. Inferred from constructor calls, annotations, factory functions' returns and call sites.

Good enough to send `model(x)` to `Net.forward`; when it cannot tell, it says nothing.
"""

from __future__ import annotations

import ast
import functools

from repo_reader.index.classes import ClassIndex
from repo_reader.index.registries import registry_of_call
from repo_reader.index.symbols import SymbolTable, scopes_outwards
from repo_reader.scan.facts import AssignFact, CallFact, DefFact, ModuleFacts

SELF_RETURNING = {"to", "cuda", "cpu", "train", "eval", "float", "half", "double", "bfloat16", "requires_grad_"}
WRAPPERS = {
    "torch.nn.parallel.DistributedDataParallel", "torch.nn.DataParallel", "torch.compile",
    "torch.nn.parallel.DataParallel", "torch.nn.SyncBatchNorm.convert_sync_batchnorm",
    "torch.jit.script", "torch.nn.DistributedDataParallel",
}
PROPAGATION_ROUNDS = 3
MODULE_TABLE = ".__dict__[]"  # `models.__dict__[name](...)`: a module used as a table of model factories
REGISTRY_PREFIX = "<registry>"  # the type of what `MODELS.build(cfg)` returns: any class registered there


class TypeIndex:
    """Types keyed by (module, scope, name); `scope` is a qualname within the module, "" at top level."""

    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex,
                 registries: dict[str, dict[str, str]] | None = None) -> None:
        self.registries = registries if registries is not None else {}  # factory tables are added here
        self.symbols = symbols
        self.classes = classes
        self.locals: dict[tuple[str, str, str], str] = {}
        self._owners: dict[tuple[str, str], str | None] = {}  # owner_class's answers
        self.attributes: dict[tuple[str, str], str] = {}  # (class qualname, attribute) → type
        self.containers: dict[tuple[str, str], tuple[str, ...]] = {}  # (class, attribute) → element types
        # attribute name → the classes with a type (or element types) for it: lookups along a deep mro
        self._typed_by_name: dict[str, set[str]] = {}
        self._filled_by_name: dict[str, set[str]] = {}
        self.returns: dict[str, str] = {}  # function qualname → class it returns
        # `def build(model_cls, **kw): return model_cls(**kw)`: function → position of the class argument
        self.parametric: dict[str, int] = {}
        self._assigned_calls: dict[tuple[str, str, str], list[str]] = {}  # (module, scope, local) → callees
        for facts in modules:
            for assign in facts.assigns:
                if assign.kind == "call" and assign.scope and "." not in assign.target:
                    self._assigned_calls.setdefault((facts.module, assign.scope, assign.target), []).append(assign.value)
        self._class_refs = {(facts.module, c.scope, c.callee): c.refs for facts in modules for c in facts.calls
                            if c.refs and c.refs[0][:1].isupper() and not c.callee[:1].isupper()}
        self.modules = {facts.module: facts for facts in modules}
        self.functions: dict[str, tuple[str, DefFact]] = {
            f"{facts.module}.{definition.qualname}": (facts.module, definition)
            for facts in modules for definition in facts.definitions if definition.kind != "class"
        }
        # `def conv_nd(dims, ...): if dims == 2: return nn.Conv2d(...)`: function → (parameter, value → returned)
        self.switches = self._switches(modules)
        self._switch_calls = self._calls_of_switches(modules)
        # Only what is still unknown is retried in later rounds.
        self._pending = [(facts.module, assign) for facts in modules for assign in facts.assigns
                         if assign.kind != "constant" and not _module_output(assign)]
        self._calls = self._calls_into_repo_functions(modules)
        for _ in range(PROPAGATION_ROUNDS):
            changed = self._infer_assignments()
            changed |= self._propagate_parameters()
            changed |= self._infer_returns(modules)
            if not changed:
                break

    # -- queries ----------------------------------------------------------------------------------
    def variable(self, module: str, scope: str, name: str) -> str | None:
        """The class held by `name` in `scope`, falling back to enclosing scopes and module globals."""
        found = None
        for enclosing in scopes_outwards(scope):
            found = self.locals.get((module, enclosing, name))
            if found:
                return found
        return found

    def owner_class(self, module: str, scope: str) -> str | None:
        """The repo class whose method `scope` is (`Net.forward` → `models.Net`); memoised."""
        key = (module, scope)
        if key in self._owners:
            return self._owners[key]
        found = None
        parts = scope.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            candidate = f"{module}.{'.'.join(parts[:cut])}"
            if candidate in self.classes.classes:
                found = candidate
                break
        self._owners[key] = found
        return found

    def attribute(self, class_qualname: str, name: str) -> str | None:
        owner = self.classes.first_owner(class_qualname, self._typed_by_name.get(name, ()))
        return self.attributes[(owner, name)] if owner is not None else None

    def container(self, class_qualname: str, name: str) -> tuple[str, ...]:
        owner = self.classes.first_owner(class_qualname, self._filled_by_name.get(name, ()))
        return self.containers[(owner, name)] if owner is not None else ()

    def element_type(self, module: str, scope: str, reference: str) -> str | None:
        """The class of the elements of `self.blocks` (a ModuleList or plain list), if one kind."""
        reference = reference.removesuffix(".values()").removesuffix("()")
        head, _, rest = reference.partition(".")
        owner = self.owner_class(module, scope) if head == "self" else None
        if owner is None or not rest or rest.count(".") > 1:
            return None
        elements = self.container(owner, rest)
        return elements[0] if len(elements) == 1 else None

    # -- inference ---------------------------------------------------------------------------------
    def type_of_callee(self, module: str, scope: str, callee: str, refs: tuple[str, ...] = (), line: int = 0) -> str | None:
        """The class an expression `callee(...)` evaluates to, when known; `line`, where the call is (at
        or after it), lets a helper that returns by its argument's value (`conv_nd(2, ...)`) answer by it."""
        receiver, _, method = callee.rpartition(".")
        if receiver and method in SELF_RETURNING:  # `Net().to(device)`, `model.cuda()`
            if receiver.endswith("()"):
                return self.type_of_callee(module, scope, receiver[:-2])
            return self.type_of_reference(module, scope, receiver)
        if callee.endswith(MODULE_TABLE):
            return self._factory_table_type(module, callee)
        resolved = self.symbols.resolve(module, callee)
        registry = registry_of_call(resolved.qualname, self.registries)
        if registry:
            return REGISTRY_PREFIX + registry
        if resolved.qualname in WRAPPERS:  # DDP(model) behaves as the model it wraps
            return self.type_of_reference(module, scope, refs[0]) if refs and refs[0] else None
        if resolved.qualname in self.classes.classes:
            return resolved.qualname
        if line and resolved.qualname in self.switches:
            chosen = self._switch_type(module, scope, callee, resolved.qualname, line)
            if chosen:
                return chosen
        if resolved.qualname in self.returns:
            return self.returns[resolved.qualname]
        if resolved.qualname in self.parametric:
            return self.class_argument(module, scope, callee, refs, self.parametric[resolved.qualname])
        if resolved.resolved and not resolved.internal and resolved.qualname[:1] != "<":
            last = resolved.qualname.rsplit(".", 1)[-1]
            return resolved.qualname if last[:1].isupper() else None
        return None

    def class_argument(self, module: str, scope: str, callee: str, refs: tuple[str, ...], index: int) -> str | None:
        """The repo class passed at position `index` of a call (`build_with_cfg(ViT, ...)` → ViT)."""
        refs = refs or self._class_refs.get((module, scope, callee), ())
        if len(refs) <= index or not refs[index]:
            return None
        qualname = self.symbols.resolve(module, refs[index]).qualname
        return qualname if qualname in self.classes.classes else None

    def factories(self, module: str, callee: str) -> list[str]:
        """`models_mae.__dict__[args.model]`: the public functions of that repo module that build a class."""
        if not callee.endswith(MODULE_TABLE):
            return []
        target = self.symbols.resolve(module, callee[: -len(MODULE_TABLE)]).qualname
        facts = self.modules.get(target)
        if facts is None:
            return []
        own = [f"{target}.{d.qualname}" for d in facts.definitions
               if d.kind == "function" and "." not in d.qualname and not d.qualname.startswith("_")
               and f"{target}.{d.qualname}" in self.returns]
        # A package that re-exports its factories (`from .vit import vit_tiny` in models/__init__.py).
        exported = [fact.target for fact in facts.imports
                    if fact.local != "*" and not fact.local.startswith("_") and fact.target in self.returns]
        return list(dict.fromkeys(own + exported))

    def _factory_table_type(self, module: str, callee: str) -> str | None:
        """One class when every factory builds the same one; else a registry-like union of them."""
        built = {function: self.returns[function] for function in self.factories(module, callee)}
        if not built:
            return None
        if len(set(built.values())) == 1:
            return next(iter(built.values()))
        table = self.symbols.resolve(module, callee[: -len(MODULE_TABLE)]).qualname + ".__dict__"
        self.registries[table] = {function.rsplit(".", 1)[1]: cls for function, cls in built.items()}
        return REGISTRY_PREFIX + table

    def type_of_reference(self, module: str, scope: str, reference: str) -> str | None:
        """The class a dotted reference (`model`, `self.encoder`) holds."""
        if not reference:
            return None
        head, _, rest = reference.partition(".")
        if head == "self" and rest and rest.count(".") <= 1:
            owner = self.owner_class(module, scope)
            return self.attribute(owner, rest) if owner else None
        if not rest:
            return self.variable(module, scope, head)
        return None

    def _infer_assignments(self) -> bool:
        changed = False
        pending = []
        for module, assign in self._pending:
            found = self._assigned_type(module, assign)
            if not found:
                if not self._never_typed(module, assign):
                    pending.append((module, assign))
                continue
            if assign.target.startswith("self.") and assign.target.count(".") <= 2:
                owner = self.owner_class(module, assign.scope)
                if owner is None:
                    continue
                attribute = (owner, assign.target[5:])
                if assign.kind in ("list", "dict", "tuple") or assign.kind == "append":
                    changed |= self._set_container(attribute, found, assign)
                elif attribute not in self.attributes:
                    self.attributes[attribute] = found
                    self._typed_by_name.setdefault(attribute[1], set()).add(attribute[0])
                    changed = True
                    if assign.children:
                        changed |= self._set_container(attribute, found, assign)
            elif "." not in assign.target:
                key = (module, assign.scope, assign.target)
                if key not in self.locals:
                    self.locals[key] = found
                    changed = True
        self._pending = pending
        return changed

    def _never_typed(self, module: str, assign: AssignFact) -> bool:
        """Whether later rounds cannot help: `self.fc(x)` or `torch.cat(...)` never yield a class."""
        if assign.kind not in ("call", "setattr"):
            return False
        receiver, _, method = assign.value.rpartition(".")
        if method in SELF_RETURNING:
            return False
        if assign.value.startswith("self."):
            return True
        resolved = self.symbols.resolve(module, assign.value)
        return resolved.resolved and not resolved.internal

    def _set_container(self, key: tuple[str, str], found: str, assign: AssignFact) -> bool:
        module = self.classes.classes[key[0]].module
        elements = tuple(
            element for element in (self.type_of_callee(module, assign.scope, child, line=assign.line)
                                    for child in assign.children)
            if element
        )
        if assign.kind == "append":
            elements = (found,)
        merged = tuple(dict.fromkeys(self.containers.get(key, ()) + elements))
        if merged != self.containers.get(key, ()):
            self.containers[key] = merged
            self._filled_by_name.setdefault(key[1], set()).add(key[0])
            return True
        return False

    def _assigned_type(self, module: str, assign: AssignFact) -> str | None:
        if assign.kind in ("call", "setattr", "append"):
            return self.type_of_callee(module, assign.scope, assign.value, line=assign.line)
        if assign.kind == "annotation":
            annotation = assign.value.strip("'\"").split("[")[0].split("|")[0].strip()
            resolved = self.symbols.resolve(module, annotation)
            if resolved.qualname in self.classes.classes or (not resolved.internal and resolved.resolved
                                                             and resolved.qualname[:1] != "<"):
                return resolved.qualname
            return None
        if assign.kind == "alias":
            return self.type_of_reference(module, assign.scope, assign.value)
        if assign.kind == "iter":
            return self.element_type(module, assign.scope, assign.value)
        if assign.kind in ("list", "dict", "tuple"):
            return assign.kind if assign.children else None
        return None

    def _infer_returns(self, modules: tuple[ModuleFacts, ...]) -> bool:
        """`def build_model(): return Net()` (or `model = Net(); return model`) returns a Net."""
        changed = False
        for facts in modules:
            for scope, name in facts.returns:
                key = f"{facts.module}.{scope}"
                if key in self.returns:
                    continue
                found = self.type_of_reference(facts.module, scope, name) or self.type_of_callee(facts.module, scope, name)
                if found:
                    self.returns[key] = found
                    changed = True
                elif key not in self.parametric:
                    changed |= self._record_parametric(facts.module, scope, name)
        return changed

    def _record_parametric(self, module: str, scope: str, name: str) -> bool:
        """`return model_cls(**kw)` or `model = model_cls(**kw); return model`, `model_cls` a parameter."""
        function = self.functions.get(f"{module}.{scope}")
        if function is None:
            return False
        params = [param.name for param in function[1].params if param.kind == "positional"]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        called = [name, *self._assigned_calls.get((module, scope, name), ())]
        position = next((params.index(callee) for callee in called if callee in params), None)
        if position is None:
            return False
        self.parametric[f"{module}.{scope}"] = position
        return True

    # -- helpers that return by an argument's value ---------------------------------------------------
    def _switches(self, modules: tuple[ModuleFacts, ...]) -> dict[str, tuple[str, dict[str, str]]]:
        """Functions whose returns sit in `if PARAM == CONSTANT:` bodies (the first parameter tested)."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for facts in modules:
            for branch in facts.branch_returns:
                qualname = f"{facts.module}.{branch.scope}"
                function = self.functions.get(qualname)
                if function is None or not any(param.name == branch.name for param in function[1].params):
                    continue
                tested, cases = found.setdefault(qualname, (branch.name, {}))
                if tested == branch.name:
                    cases.setdefault(branch.value, branch.returned)
        return found

    def _calls_of_switches(self, modules: tuple[ModuleFacts, ...]) -> dict[tuple[str, str, str], list[CallFact]]:
        """(module, scope, callee) → the calls spelling a switch function's name there, in line order."""
        names = {qualname.rsplit(".", 1)[-1] for qualname in self.switches}
        found: dict[tuple[str, str, str], list[CallFact]] = {}
        for facts in modules if names else ():
            for call in facts.calls:
                if call.callee.rsplit(".", 1)[-1] in names:
                    found.setdefault((facts.module, call.scope, call.callee), []).append(call)
        for calls in found.values():
            calls.sort(key=lambda call: (call.line, call.col))
        return found

    def _switch_type(self, module: str, scope: str, callee: str, qualname: str, line: int) -> str | None:
        """The class `conv_nd(2, ...)` (or `conv_nd(dims, ...)`, `dims=2` a default of the caller) returns."""
        call = next((c for c in self._switch_calls.get((module, scope, callee), ()) if c.line >= line), None)
        if call is None:
            return None
        tested, cases = self.switches[qualname]
        returned = cases.get(self._argument_value(module, call, qualname, tested) or "")
        if returned is None:
            return None
        target_module, definition = self.functions[qualname]
        return self.type_of_reference(target_module, definition.qualname, returned) or self.type_of_callee(
            target_module, definition.qualname, returned)

    def _argument_value(self, module: str, call: CallFact, qualname: str, param: str) -> str | None:
        """The repr of the constant `call` passes as `param`: a literal, or a default of the caller's parameter."""
        definition = self.functions[qualname][1]
        positional = [p.name for p in definition.params if p.kind == "positional"]
        if definition.kind == "method" and positional:
            positional = positional[1:]
        position = str(positional.index(param)) if param in positional else param
        literals = dict(call.literals)
        if position in literals or param in literals:
            return literals.get(position) or literals[param]
        reference = dict(call.keyword_refs).get(param) or (
            call.refs[int(position)] if position.isdigit() and int(position) < len(call.refs) else "")
        caller = self.functions.get(f"{module}.{call.scope}")
        if not reference or "." in reference or caller is None:
            return None
        default = next((p.default for p in caller[1].params if p.name == reference), None)
        return _constant_repr(default) if default is not None else None

    def _calls_into_repo_functions(self, modules: tuple[ModuleFacts, ...]) -> list[tuple[str, CallFact, tuple[str, DefFact]]]:
        """Call sites that pass named arguments to a function the repo defines."""
        found = []
        for facts in modules:
            for call in facts.calls:
                if not any(call.refs) and not call.keyword_refs:
                    continue
                target = self.symbols.resolve(facts.module, call.callee)
                definition = self.functions.get(target.qualname) if target.internal else None
                if definition is not None:
                    found.append((facts.module, call, definition))
        return found

    def _propagate_parameters(self) -> bool:
        """A parameter takes the class of the argument passed at a call site (first one known)."""
        changed = False
        for module, call, definition in self._calls:
            params = [param.name for param in definition[1].params if param.kind == "positional"]
            if params and params[0] in ("self", "cls"):
                params = params[1:]
            for name, reference in [*zip(params, call.refs), *call.keyword_refs]:
                key = (definition[0], definition[1].qualname, name)
                if key in self.locals:
                    continue
                found = self.type_of_reference(module, call.scope, reference)
                if found:
                    self.locals[key] = found
                    changed = True
        return changed


@functools.lru_cache(maxsize=4096)
def _constant_repr(text: str) -> str | None:
    """A parameter default's source text (`2`, `'2d'`) as the repr the scan gives constants; None if computed."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return repr(value) if type(value) in (int, float, str, bool, type(None)) else None


def _module_output(assign: AssignFact) -> bool:
    """`h = self.fc(x)` binds a module's output (a tensor), never a class: no need to try."""
    if assign.kind != "call" or not assign.value.startswith("self.") or "." in assign.value[5:]:
        return False
    return assign.value[5:] not in SELF_RETURNING
