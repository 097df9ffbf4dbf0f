"""Turn the static map (+ --model / --init) into TraceRequests: which file to import, which class,
and the constructor arguments, evaluated from the entry point's argparse defaults or a YAML
config, else the constructor's own defaults. Standard library only; no repo code runs here.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_reader.model import ConstructionSite, EntryKind, EntryPoint, ModelInfo, Option, RepoMap
from repo_reader.trace.builders import (EntryFactory, as_factory, default_builder, entry_factory, factory_model,
                                        takes_no_arguments, uses_parameters_of)
from repo_reader.trace.launch import root_package
from repo_reader.trace.configs import NAME_KEYS, load_config, registry_key, section_naming
from repo_reader.trace.usage import FactorySite, find_example_inputs, find_factory_site
from repo_reader.trace.request import ArgSpec, InputSpec, SizeHint, TraceRequest

_NAMESPACES = {"args", "opt", "opts", "options", "cfg", "config", "conf", "hparams", "flags", "hp", "params"}


class TargetError(ValueError):
    """The user asked for something the map cannot give (unknown --model, bad --init)."""


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """What every request shares: device, inputs, backward, limits."""

    device: str = "auto"
    inputs: tuple[InputSpec, ...] = ()
    hints: tuple[SizeHint, ...] = ()
    backward: bool = False
    memory_limit: int = 0


DEFAULT_MAX_MODELS = 5  # a library defines hundreds of top-level modules (timm: 340); name others with --model


def select_models(repo_map: RepoMap, wanted: tuple[str, ...], limit: int = DEFAULT_MAX_MODELS) -> list[ModelInfo]:
    """The models named by --model, else the first `limit` top-level models in reading order (else
    those no other model contains, biggest first); `limit` 0 keeps them all."""
    if wanted:
        return [_named_model(repo_map, name) for name in wanted]
    chosen = default_models(repo_map)
    return chosen[:limit] if limit > 0 else chosen


def default_models(repo_map: RepoMap) -> list[ModelInfo]:
    """Every model `trace` would take without --model, the one to read first first."""
    top = repo_map.ranked_top_level()
    if top:
        return top
    contained = {name for m in repo_map.models for name in m.contains}
    contained |= {m.qualname for m in repo_map.models
                  for site in m.constructed_at if site.caller.endswith(".__init__")}
    return sorted((m for m in repo_map.models if m.qualname not in contained),
                  key=lambda m: (-len(m.contains), -len(m.submodules)))


def _named_model(repo_map: RepoMap, wanted: str) -> ModelInfo:
    exact = [m for m in repo_map.models if m.qualname == wanted]
    found = exact or [m for m in repo_map.models
                      if m.qualname.endswith("." + wanted) or m.qualname.rpartition(".")[2] == wanted]
    by_factory = factory_model(repo_map, wanted) if not found else None
    if by_factory is not None:
        return by_factory[0]
    if not found:
        known = ", ".join(m.qualname for m in repo_map.models) or "none"
        raise TargetError(f"no model named {wanted!r} in the map (models: {known})")
    return found[0]


def build_request(model: ModelInfo, repo_map: RepoMap, root: Path, init: tuple[str, ...],
                  settings: RequestSettings, builder: str = "") -> TraceRequest:
    """`builder`: a factory function to build the model with (`--model vit_small_patch16_224`)."""
    module_name = module_for(model.path, root)
    prefix = module_name + "."
    class_name = model.qualname[len(prefix):] if model.qualname.startswith(prefix) else model.qualname.rpartition(".")[2]
    site, entry = _construction_site(model, repo_map)
    factory, factory_notes = _usable_factory(model, repo_map, root) if site is None else (None, [])
    site = factory.site if factory else site  # `Net.from_pretrained(...)`: a classmethod builds it
    args, notes = _site_arguments(model, site, entry, root, factory.parameters if factory else None) if site else ([], [])
    notes += factory_notes
    targeted = _target_section(model, repo_map, root) if site is None and not builder and not init else None
    if targeted is not None:  # `hydra.utils.instantiate(cfg.model)`: the config section whose `_target_` names it
        args, left_out, method = targeted
        return _request(model, module_name, class_name, root, settings, args, method, notes + left_out, repo_map,
                        _config_entry(None, repo_map), "")
    key = registry_key(site.args) if site else None
    config_entry = _config_entry(entry, repo_map) if key is not None else None
    if key is not None and config_entry is not None:  # `MODELS.build(cfg.model)`: the section naming the key
        args, notes = _registry_arguments(model, key, config_entry, root)
    args = _apply_overrides(args, parse_init(init))
    method = _method(site, entry, init)
    if key is not None:
        method += f", registry key {key!r}" + (f" (config of {config_entry.path})" if config_entry else "")
    if factory is not None:
        method = method.replace(" (", f" with {class_name}.{factory.method}(...) (", 1)
    called = entry_factory(repo_map, model, root, _entry_resolver(root)) if not builder and not init and entry is None else None
    if called is not None:  # `models_mae.__dict__[args.model](norm_pix_loss=...)` in the training script
        return _factory_request(model, module_name, class_name, root, settings, called, repo_map)
    if not builder and not init and entry is None and site is not None and site.caller in model.factories \
            and takes_no_arguments(repo_map, site.caller):
        builder = site.caller  # built inside a factory (`return Sam(...)` in build_sam): call the factory
    why = ""
    if not builder and not init and not factory:
        given = {spec.name for spec in args if spec.name and not (
            spec.is_expression and site is not None and uses_parameters_of(repo_map, site.caller, spec.value))}
        builder, why = default_builder(model, given, repo_map, root)
    if builder:  # the factory's own defaults; --init values go to it as keyword arguments
        args = [spec for spec in _apply_overrides([], parse_init(init))]
        method = f"built by its factory function {builder.rsplit('.', 1)[-1]}() ({builder})" + \
            (f", {why}" if why else "") + (", with --init" if init else ", with its defaults")
    return _request(model, module_name, class_name, root, settings, args, method, notes, repo_map, entry,
                    as_factory(builder) if builder else (factory.method if factory else ""))


def _request(model: ModelInfo, module_name: str, class_name: str, root: Path, settings: RequestSettings,
             args: list[ArgSpec], method: str, notes: list[str], repo_map: RepoMap, entry: EntryPoint | None,
             factory: str) -> TraceRequest:
    sys_path = [str(root)] + ([str(root / "src")] if (root / "src").is_dir() else [])
    package = root_package(root)
    if package:
        module_name = f"{package}.{module_name}" if module_name != package else package
    assignments = tuple((info.qualname, sub.name, sub.line, sub.col) for info in repo_map.models for sub in info.submodules)
    defaults = tuple((dest, spec.value) for dest, option in _options_by_dest(entry.options if entry else ()).items()
                     if not (spec := _value_spec(_literal(option.default or "None", default=None))).is_expression)
    return TraceRequest(
        root=str(root), defaults=defaults, sys_path=tuple(sys_path), module_name=module_name, class_name=class_name,
        qualname=model.qualname, path=model.path, args=tuple(args), method=method,
        device=settings.device, inputs=settings.inputs, hints=settings.hints, backward=settings.backward,
        memory_limit=settings.memory_limit, notes=tuple(notes), assignments=assignments,
        examples=() if settings.inputs else find_example_inputs(root, repo_map, model), factory=factory,
        package=package,
    )


def _entry_resolver(root: Path) -> Callable[[str, EntryPoint], tuple[ArgSpec, str] | None]:
    """`args.x` / `cfg.a.b` in a training script, evaluated from its option defaults and its config."""
    def resolve(text: str, entry: EntryPoint) -> tuple[ArgSpec, str] | None:
        config = load_config(root, entry.config_path) if entry.config_path else {}
        return _resolve(text, _options_by_dest(entry.options), config, entry)
    return resolve


def _factory_request(model: ModelInfo, module_name: str, class_name: str, root: Path, settings: RequestSettings,
                     called: EntryFactory, repo_map: RepoMap) -> TraceRequest:
    """Build the model the way the training script does: its factory, with the keyword arguments it
    passes evaluated from the script's option defaults."""
    name = called.factory.rsplit(".", 1)[-1]
    method = f"built by its factory function {name}() ({called.factory}), as {called.site} calls it"
    if called.chosen_by:
        method += f", chosen by the {called.chosen_by}"
    args = [ArgSpec(keyword, spec.value, where, spec.is_expression) for keyword, (spec, where) in called.keywords]
    if args:
        method += ", with " + ", ".join(f"{spec.name}={json.loads(spec.value)!r}" for spec in args)
    notes = [f"`{keyword}` at {called.site} was not evaluated statically: the factory's default is used"
             for keyword in called.skipped]
    entry = next((e for e in repo_map.entry_points if e.path == called.site.rpartition(":")[0]), None)
    return _request(model, module_name, class_name, root, settings, args, method, notes, repo_map, entry,
                    as_factory(called.factory))


def module_for(path: str, root: Path) -> str:
    """`models/net.py` → `models.net`; `src/pkg/x.py` → `pkg.x` (src layout); `pkg/__init__.py` → `pkg`."""
    parts = path.removesuffix(".py").split("/")
    if parts[0] == "src" and len(parts) > 1 and (root / "src").is_dir():
        parts = parts[1:]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def parameter_name(source: str) -> str:
    """`depth: int = 18` → `depth`."""
    return source.partition("=")[0].partition(":")[0].strip().lstrip("*")


@dataclass(frozen=True, slots=True)
class InitExpression:
    """An --init value that is Python code (`GPTConfig(n_layer=4)`), evaluated in the child in the model's module."""

    text: str


def parse_init(init: tuple[str, ...]) -> dict[str, Any]:
    """`--init key=value`: a Python literal, else a bare word (a string, for convenience), else a Python
    expression the child evaluates (`config=GPTConfig(n_layer=4)`, `norm=nn.LayerNorm`)."""
    values: dict[str, Any] = {}
    for item in init:
        key, sep, text = item.partition("=")
        text = text.strip()
        if not sep or not key.strip().isidentifier():
            raise TargetError(f"--init expects key=value, got {item!r}")
        literal = _literal(text)
        if literal is not _MISSING or text.isidentifier() or not _is_expression(text):
            values[key.strip()] = text if literal is _MISSING else literal
        else:
            values[key.strip()] = InitExpression(text)
    return values


def _is_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _construction_site(model: ModelInfo, repo_map: RepoMap) -> tuple[ConstructionSite | None, EntryPoint | None]:
    """The site inside an entry point's file, a training one first; else the first site. A YAML config's
    site (`_target_:`) is no call to rebuild: its section is read instead (`_target_section`)."""
    ranked = sorted(repo_map.entry_points, key=lambda e: (e.kind != EntryKind.TRAIN, e.rank))
    in_code = [site for site in model.constructed_at if not site.path.endswith((".yaml", ".yml"))]
    for entry in ranked:
        for site in in_code:
            if site.path == entry.path:
                return site, entry
    return (in_code[0], None) if in_code else (None, None)


def _site_arguments(model: ModelInfo, site: ConstructionSite, entry: EntryPoint | None, root: Path,
                    factory_params: tuple[str, ...] | None = None) -> tuple[list[ArgSpec], list[str]]:
    """`factory_params`: the classmethod's parameters when a factory (`from_pretrained`) builds the model."""
    options = _options_by_dest(entry.options if entry else ())
    config = load_config(root, entry.config_path) if entry and entry.config_path else {}
    params = [parameter_name(p) for p in model.init_params if not p.startswith("*")]
    defaults = {parameter_name(p) for p in model.init_params if "=" in p}
    if factory_params is not None:
        params, defaults = list(factory_params), set()
    specs, notes = [], []
    for position, (name, text) in enumerate(_split_arguments(site.args)):
        # name positional arguments after the constructor's parameters, so dropping one cannot shift the rest
        name = name or (params[position] if position < len(params) else None)
        resolved = _resolve(text, options, config, entry)
        if resolved is not None:
            specs.append(ArgSpec(name, resolved[0].value, resolved[1], resolved[0].is_expression))
        elif name in defaults:
            notes.append(f"`{text}` at {site.path}:{site.line} was not evaluated statically: "
                         f"the constructor's default for `{name}` is used")
        else:
            specs.append(ArgSpec(name, text, "construction site (evaluated in the child)", True))
    return specs, notes


def _usable_factory(model: ModelInfo, repo_map: RepoMap, root: Path) -> tuple[FactorySite | None, list[str]]:
    """The repo's `Net.from_pretrained(...)` call, when all its arguments are known statically;
    otherwise the constructor's defaults are safer than evaluating the repo's local names."""
    factory = find_factory_site(root, repo_map, model)
    if factory is None:
        return None, []
    args, _ = _site_arguments(model, factory.site, None, root, factory.parameters)
    if any(spec.is_expression for spec in args):
        site = factory.site
        return None, [f"{site.path}:{site.line} builds the model with `{factory.method}({', '.join(site.args)})`, "
                      "whose arguments are not known statically: the constructor's defaults are used"]
    return factory, []


def _config_entry(entry: EntryPoint | None, repo_map: RepoMap) -> EntryPoint | None:
    """The entry point whose config to read: the site's own, else the best-ranked one that loads a config."""
    if entry is not None and entry.config_path:
        return entry
    ranked = sorted(repo_map.entry_points, key=lambda e: (e.kind != EntryKind.TRAIN, e.rank))
    return next((e for e in ranked if e.config_path), None)


def _target_section(model: ModelInfo, repo_map: RepoMap, root: Path) -> tuple[list[ArgSpec], list[str], str] | None:
    """Keyword arguments from the config section (default groups merged, as Hydra composes them) whose
    `_target_` is the model's import path; None when no entry point's config names it."""
    entry = _config_entry(None, repo_map)
    if entry is None or entry.config_path is None:
        return None
    found = section_naming(root, entry.config_path, model.qualname)
    if found is None or found[0].get("_target_") != model.qualname:
        return None
    section, where = found
    args, notes = _section_arguments(model, section, where)
    return args, notes, f"built from the section of {where}, whose `_target_` names it"


def _registry_arguments(model: ModelInfo, key: str, entry: EntryPoint, root: Path) -> tuple[list[ArgSpec], list[str]]:
    """Keyword arguments from the config section that names `key`, as `Registry.build(cfg)` passes them."""
    assert entry.config_path is not None
    found = section_naming(root, entry.config_path, key)
    if found is None:
        return [], [f"no section of {entry.config_path} names {key!r}: the constructor's defaults are used"]
    return _section_arguments(model, *found)


def _section_arguments(model: ModelInfo, section: dict[str, Any], where: str) -> tuple[list[ArgSpec], list[str]]:
    """A config section's keys as keyword arguments; the naming keys (`type`, `_target_`) and Hydra's
    own (`_partial_`) are not arguments, and keys the constructor does not take are left out, noted."""
    params = {parameter_name(p) for p in model.init_params}
    open_ended = any(p.startswith("**") for p in model.init_params)
    specs, notes = [], []
    for name, value in section.items():
        if name in NAME_KEYS or name.startswith("_"):
            continue
        if name not in params and not open_ended:
            notes.append(f"`{name}` in {where} is not a parameter of {model.qualname.rpartition('.')[2]}: left out")
            continue
        spec = _value_spec(value)
        specs.append(ArgSpec(name, spec.value, where, spec.is_expression))
    return specs, notes


def _split_arguments(texts: tuple[str, ...]) -> list[tuple[str | None, str]]:
    try:
        call = ast.parse(f"f({', '.join(texts)})", mode="eval").body
    except SyntaxError:
        return []
    assert isinstance(call, ast.Call)
    found: list[tuple[str | None, str]] = [(None, ast.unparse(arg)) for arg in call.args]
    found += [(kw.arg, ast.unparse(kw.value)) for kw in call.keywords if kw.arg]
    return found


def _resolve(text: str, options: dict[str, Option], config: dict[str, Any],
             entry: EntryPoint | None) -> tuple[ArgSpec, str] | None:
    literal = _literal(text)
    if literal is not _MISSING:
        return _value_spec(literal), "construction site (literal)"
    chain = text.split(".")
    if len(chain) >= 2 and chain[0] in _NAMESPACES and all(part.isidentifier() for part in chain):
        option = options.get(chain[-1]) if len(chain) == 2 else None
        if option is not None:
            value = _literal(option.default or "None", default=option.default)
            where = f" in {entry.path}" if entry else ""
            return _value_spec(value), f"default of {option.name}{where} (`{text}`)"
        value = _lookup(config, chain[1:])
        if value is not _MISSING and entry is not None:
            return _value_spec(value), f"{entry.config_path} (`{text}`)"
    return None


def _options_by_dest(options: tuple[Option, ...]) -> dict[str, Option]:
    found: dict[str, Option] = {}
    for option in options:
        for flag in (option.name, *option.flags):
            found.setdefault(flag.lstrip("-").replace("-", "_").rpartition(".")[2], option)
    return found


def _apply_overrides(args: list[ArgSpec], overrides: dict[str, Any]) -> list[ArgSpec]:
    kept = [spec for spec in args if spec.name not in overrides]
    for name, value in overrides.items():
        if isinstance(value, InitExpression):
            kept.append(ArgSpec(name, value.text, "--init", True))
            continue
        spec = _value_spec(value)
        kept.append(ArgSpec(name, spec.value, "--init", spec.is_expression))
    return kept


def _method(site: ConstructionSite | None, entry: EntryPoint | None, init: tuple[str, ...]) -> str:
    if site is None:
        text = "the constructor's own defaults (the map found no construction site)"
    else:
        text = f"as built at {site.path}:{site.line} ({site.caller})"
        if entry is not None and entry.options:
            text += f", arguments from {entry.path}'s command-line defaults"
    if init:
        text += "; --init " + " ".join(init)
    return text


class _Missing:
    pass


_MISSING: Any = _Missing()


def _literal(text: str, default: Any = _MISSING) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return default


def _value_spec(value: Any) -> ArgSpec:
    try:
        text = json.dumps(value)
        if json.loads(text) == value and type(json.loads(text)) is type(value):
            return ArgSpec(None, text, "")
    except (TypeError, ValueError):
        pass
    return ArgSpec(None, repr(value), "", True)


def _lookup(config: dict[str, Any], keys: list[str]) -> Any:
    node: Any = config
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
