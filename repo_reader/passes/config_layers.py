"""Models whose layers a YAML file lists (yolov5-style): a builder function resolves each row's module
by name (`eval(m)`, `globals()[m]`, `getattr(nn, ...)`) into an `nn.Sequential`, and a model's method
hands it the YAML its constructor default, a construction site or a `--cfg` default names.
Reads the YAML text the scan read (inside the repository, size-capped); runs none of the repo's code.
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import replace

from repo_reader.index.classes import ClassIndex
from repo_reader.index.symbols import SymbolTable
from repo_reader.index.types import TypeIndex
from repo_reader.model import ConfigLayer, ConstructionSite, EntryPoint, Evidence, FileInfo, Location, ModelInfo, Role
from repo_reader.passes.yaml_nodes import YamlNode, read_yaml
from repo_reader.scan.facts import CallFact, ModuleFacts

YAML_SUFFIXES = (".yaml", ".yml")
SEQUENTIAL = ("torch.nn.Sequential", "torch.nn.modules.container.Sequential")
HELPER_HOPS = 2  # module-level helpers between a model's method and the builder
CONFIG_PARAMETERS = ("cfg", "config", "yaml", "model_cfg", "cfg_path", "config_path")


class LayerConfigs:
    """Which classes build their layers from a YAML list, and the YAML each one reads."""

    def __init__(self, modules: tuple[ModuleFacts, ...], symbols: SymbolTable, classes: ClassIndex,
                 types: TypeIndex, texts: dict[str, str], entries: tuple[EntryPoint, ...]) -> None:
        self.by_module = {facts.module: facts for facts in modules}
        self.symbols = symbols
        self.classes = classes
        self.texts = {path: text for path, text in texts.items() if path.endswith(YAML_SUFFIXES)}
        self.entries = entries
        builders = _through_helpers(modules, symbols, {name: name for name in _layer_builders(modules, symbols)})
        self.builds: dict[str, str] = {}  # class qualname → the builder one of its methods calls
        names = {name.rsplit(".", 1)[-1] for name in builders}  # resolve only the calls that may be one
        for facts in modules:
            for call in facts.calls if names else ():
                if "." in call.scope and call.callee.rpartition(".")[2] in names:
                    built = builders.get(symbols.resolve(facts.module, call.callee).qualname)
                    owner = types.owner_class(facts.module, call.scope) if built else None
                    if owner and built:
                        self.builds.setdefault(owner, built)
        self.read: dict[str, list[str]] = {}  # YAML path → the models whose layers it lists

    def attach(self, models: list[ModelInfo]) -> list[ModelInfo]:
        """The models with the layers their YAML lists (and the repo's classes among them as contained)."""
        return [self._attached(model) for model in models] if self.builds else models

    def config_files(self) -> dict[str, FileInfo]:
        """Role `config` for each YAML file found to list a model's layers."""
        found = {}
        for path, owners in sorted(self.read.items()):
            names = ", ".join(owner.rsplit(".", 1)[-1] for owner in owners)
            evidence = (Evidence(f"lists the layers of {names} (read by {self._builder_name(owners[0])})", 60),)
            found[path] = FileInfo(path, "", Role.CONFIG, 95, evidence, len(self.texts[path].splitlines()))
        return found

    def _builder_name(self, owner: str) -> str:
        builder = next((self.builds[name] for name in self.classes.mro(owner) if name in self.builds), "")
        return builder.rsplit(".", 1)[-1]

    def _attached(self, model: ModelInfo) -> ModelInfo:
        builder = next((self.builds[name] for name in self.classes.mro(model.qualname) if name in self.builds), None)
        if builder is None:
            return model
        for name in self._config_names(model):
            path = self._find(name, model.path)
            found = self._layers(path, builder.rpartition(".")[0]) if path else None
            if path and found:
                where, layers = found
                self.read.setdefault(path, []).append(model.qualname)
                own = {layer.type for layer in layers if layer.type in self.classes.classes} - {model.qualname}
                contains = tuple(sorted(set(model.contains) | own))
                return replace(model, layers=layers, layers_from=where, layers_builder=builder, contains=contains)
        return model

    def _config_names(self, model: ModelInfo) -> list[str]:
        """YAML names to try: what construction sites pass (a literal, an option's default), then the
        constructor's default."""
        position, parameter, default = _config_parameter(model.init_params)
        if parameter is None:
            return []
        names = [name for site in model.constructed_at for name in self._site_names(site, position, parameter)]
        return names + ([default] if default else [])

    def _site_names(self, site: ConstructionSite, position: int, parameter: str) -> list[str]:
        argument = _argument(site.args, position, parameter)
        if argument is None:
            return []
        literal = string_literal(argument)
        if literal is not None:
            return [literal]
        attribute = argument.rpartition(".")[2]
        return [text for entry in self.entries if entry.path == site.path for option in entry.options
                if option.name.lstrip("-").replace("-", "_") == attribute
                for text in [string_literal(option.default or "")] if text]

    def _find(self, name: str, near: str) -> str | None:
        """The YAML file `name` means: beside the code, from the root, else the one of that name
        (in a folder the code joins) nearest the code."""
        if not name.endswith(YAML_SUFFIXES):
            return None
        folder = posixpath.dirname(near)
        for candidate in (posixpath.normpath(posixpath.join(folder, name)), posixpath.normpath(name)):
            if candidate in self.texts:
                return candidate
        tail = "/" + posixpath.basename(name)
        matches = [path for path in self.texts if path.endswith(tail) or path == tail[1:]]
        return min(matches, key=lambda path: (-len(posixpath.commonpath([folder, path]) if folder else ""),
                                              path.count("/"), path), default=None)

    def _layers(self, path: str, module: str) -> tuple[Location, tuple[ConfigLayer, ...]] | None:
        root = read_yaml(self.texts[path])
        if root is None or root.kind != "mapping":
            return None
        layers: list[ConfigLayer] = []
        first: Location | None = None
        for key, value in root.items:
            rows = [row for row in value.elements if _is_row(row)] if value.kind == "sequence" else []
            if not rows or len(rows) != len(value.elements):
                continue
            first = first or Location(path, key.line, key.col)
            layers += [self._layer(len(layers) + number, key.value, row, module) for number, row in enumerate(rows)]
        return (first, tuple(layers)) if first else None

    def _layer(self, index: int, section: str, row: YamlNode, module: str) -> ConfigLayer:
        source, repeats, name, args = row.elements
        qualname = self.symbols.resolve(module, name.value).qualname if module in self.by_module else name.value
        info = self.classes.classes.get(qualname)
        defined_at = None
        if info is not None:
            path, line = self.by_module[info.module].where(info.definition.line)
            defined_at = Location(path, line, info.definition.col)
        return ConfigLayer(index, section, source.text, repeats.text, name.value, qualname, args.text,
                           row.line, row.col, defined_at)


def _is_row(row: YamlNode) -> bool:
    """`[from, number, module, args]`: the module a name, the args a list."""
    return (row.kind == "sequence" and len(row.elements) == 4 and row.elements[2].kind == "scalar"
            and row.elements[2].value.replace(".", "_").isidentifier() and row.elements[3].kind == "sequence")


def _layer_builders(modules: tuple[ModuleFacts, ...], symbols: SymbolTable) -> set[str]:
    """Functions that look a module class up by name and build an `nn.Sequential` of what they found."""
    found = set()
    for facts in modules:
        sequential = {call.scope for call in facts.calls if call.scope and call.callee.endswith("Sequential")
                      and symbols.resolve(facts.module, call.callee).qualname in SEQUENTIAL}
        found |= {f"{facts.module}.{call.scope}" for call in (facts.calls if sequential else ())
                  if call.scope in sequential and _looks_up_by_name(facts, call, symbols)}
    return found


def _through_helpers(modules: tuple[ModuleFacts, ...], symbols: SymbolTable, builders: dict[str, str],
                     hops: int = HELPER_HOPS) -> dict[str, str]:
    """The builders and the module-level functions that call one (`_initialize_model(self, cfg)` calling
    `parse_model`), up to `hops` calls away: function → the builder it reaches."""
    for _ in range(hops if builders else 0):
        found = dict(builders)
        names = {name.rsplit(".", 1)[-1] for name in builders}
        for facts in modules:
            for call in facts.calls:
                if call.scope and "." not in call.scope and call.callee.rpartition(".")[2] in names \
                        and f"{facts.module}.{call.scope}" not in found:
                    reached = builders.get(symbols.resolve(facts.module, call.callee).qualname)
                    if reached:
                        found[f"{facts.module}.{call.scope}"] = reached
        if len(found) == len(builders):
            break
        builders = found
    return builders


def _looks_up_by_name(facts: ModuleFacts, call: CallFact, symbols: SymbolTable) -> bool:
    if call.callee in ("eval", "globals"):
        return True
    return call.callee == "getattr" and bool(call.refs) and \
        symbols.resolve(facts.module, call.refs[0]).qualname in ("torch.nn", "torch.nn.modules")


def _config_parameter(params: tuple[str, ...]) -> tuple[int, str | None, str | None]:
    """(position, name, default) of the constructor parameter that takes the YAML: the first whose
    default names a YAML file, else one named like a config."""
    named: tuple[int, str | None, str | None] = (0, None, None)
    for position, text in enumerate(params):
        name, _, default = text.partition("=")
        name = name.partition(":")[0].strip()
        literal = string_literal(default.strip()) if default else None
        if literal and literal.endswith(YAML_SUFFIXES):
            return position, name, literal
        if name in CONFIG_PARAMETERS and named[1] is None:
            named = (position, name, literal)
    return named


def _argument(args: tuple[str, ...], position: int, parameter: str) -> str | None:
    for text in args:
        keyword, equals, value = text.partition("=")
        if equals and keyword.strip() == parameter:
            return value.strip()
    positional = [text for text in args if not _is_keyword(text)]
    return positional[position] if position < len(positional) else None


def _is_keyword(text: str) -> bool:
    keyword, equals, _ = text.partition("=")
    return bool(equals) and keyword.strip().isidentifier() and not text.startswith(("'", '"'))


def string_literal(text: str) -> str | None:
    """The value of a Python string literal's source text, else None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None
