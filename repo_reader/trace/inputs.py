"""The input-synthesis ladder: candidate inputs for a model's `forward`, each with its reason.

Child side: imports torch. Candidates come from the user, from what the model provides
(`example_input_array`, `dummy_inputs`), from its first layer and from `forward`'s signature.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from repo_reader.trace.request import ExampleInput, InputSpec, SizeHint

BATCH = 2  # BatchNorm in train mode needs more than one value per channel
LATER_LAYER = "later-layer"  # candidates from a layer registered after the first: their failures say little
_ID_NAMES = {"input_ids", "idx", "ids", "tokens", "token_ids", "src", "tgt", "x_ids", "input_tokens", "text", "texts",
             "text_ids", "text_tokens", "caption", "captions"}
_TARGET_NAMES = {"targets", "target", "labels", "label", "y"}
_MASK_NAMES = {"mask", "attention_mask", "attn_mask", "padding_mask"}
# one number per sample beside the batch: a diffusion step (integer) or a noise level (float)
_STEP_NAMES = {"t", "timesteps", "timestep", "time", "times", "step", "steps", "time_steps"}
_NOISE_LEVEL_NAMES = {"sigma", "sigmas", "noise_level", "noise_levels", "noise_labels", "log_snr", "gamma"}
DIFFUSION_STEPS = 1000
_LENGTH_ATTRIBUTES = (
    "block_size", "max_len", "max_seq_len", "max_seq_length", "max_position_embeddings",
    "n_positions", "seq_len", "context_length", "n_ctx", "max_length",
)
_DTYPES = {"float32": torch.float32, "float": torch.float32, "float16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
           "int64": torch.int64, "long": torch.int64, "int32": torch.int32, "int": torch.int64,
           "bool": torch.bool, "uint8": torch.uint8}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    high: int = 0  # integer tensors: values in [0, high)
    ones: bool = False

    def build(self, device: torch.device) -> torch.Tensor:
        if self.ones:
            return torch.ones(self.shape, dtype=self.dtype, device=device)
        if self.dtype.is_floating_point:
            return torch.randn(self.shape, dtype=self.dtype, device=device)
        if device.type == "meta" or self.high <= 0:
            return torch.zeros(self.shape, dtype=self.dtype, device=device)
        return torch.randint(0, self.high, self.shape, dtype=self.dtype, device=device)

    def text(self) -> str:
        return "x".join(map(str, self.shape)) + ":" + str(self.dtype).removeprefix("torch.")


@dataclass(frozen=True, slots=True)
class SampleList:
    """A list of per-sample dicts (`forward(batched_input: List[Dict])`), `count` copies of `sample`."""

    count: int
    sample: dict[str, Any]


Spec = TensorSpec | SampleList | dict[str, TensorSpec] | Any  # Any: a ready-made value from the model


@dataclass(slots=True)
class Candidate:
    source: str
    reason: str
    args: list[Spec] = field(default_factory=list)
    kwargs: dict[str, Spec] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [_spec_text(spec) for spec in self.args]
        parts += [f"{name}={_spec_text(spec)}" for name, spec in self.kwargs.items()]
        return ", ".join(parts) or "(no arguments)"

    def build(self, device: torch.device) -> tuple[list[Any], dict[str, Any]]:
        args = [_build(spec, device) for spec in self.args]
        return args, {name: _build(spec, device) for name, spec in self.kwargs.items()}


def parse_dtype(name: str) -> torch.dtype:
    return _DTYPES.get(name.removeprefix("torch."), torch.float32)


def candidates(
    model: nn.Module, user: tuple[InputSpec, ...], hints: tuple[SizeHint, ...], *, small: bool,
    examples: tuple[ExampleInput, ...] = (),
) -> Iterator[Candidate]:
    """The ladder, best first; only the user's input when one is given."""
    if user:
        yield _user_candidate(user)
        return
    yield from _provided_by_model(model)
    for example in examples:  # what the repo's tests or smoke tests feed the model
        yield _user_candidate(example.inputs, "repo-code", example.evidence)
    yield from _from_layers(model, hints, small=small)


def _user_candidate(user: tuple[InputSpec, ...], source: str = "user", reason: str = "given with --input") -> Candidate:
    candidate = Candidate(source, reason)
    for spec in user:
        tensor = TensorSpec(spec.shape, parse_dtype(spec.dtype), high=spec.high or 2)
        if spec.name:
            candidate.kwargs[spec.name] = tensor
        else:
            candidate.args.append(tensor)
    return candidate


def _provided_by_model(model: nn.Module) -> Iterator[Candidate]:
    example = getattr(model, "example_input_array", None)
    if example is not None:
        args, kwargs = _as_call(example)
        yield Candidate("example_input_array", "the model sets `example_input_array` (Lightning)", args, kwargs)
    dummy = _safe_getattr(model, "dummy_inputs")
    if isinstance(dummy, dict) and dummy:
        yield Candidate("dummy_inputs", "the model provides `dummy_inputs` (Hugging Face)", [], dict(dummy))


def _from_layers(model: nn.Module, hints: tuple[SizeHint, ...], *, small: bool) -> Iterator[Candidate]:
    parameters = _required_parameters(model)
    keys = _dict_keys(model, parameters)
    samples = _sample_keys(model, parameters)
    for index, first in enumerate(_first_layers(model)):
        yield from _from_layer(model, first, hints, parameters, keys, samples, small=small, later=index > 0)


def _from_layer(model: nn.Module, first: nn.Module | None, hints: tuple[SizeHint, ...],
                parameters: list[tuple[str, str]], keys: dict[str, list[str]], samples: dict[str, list[str]], *,
                small: bool, later: bool = False) -> Iterator[Candidate]:
    """`later`: the first layer of another kind than the first registered one (a guess after the guesses)."""
    source = LATER_LAYER if later else "first-layer" if first is not None else "signature"
    for primary, reason in _primary_specs(model, first, hints, small=small):
        dict_name = next((name for name, _ in parameters if name in keys), None)
        variants = _dict_variants(keys[dict_name], primary, model) if dict_name else [({}, "")]
        for specs, why in variants:
            candidate = Candidate(source, reason + why)
            for name, hint in parameters:
                if name == dict_name:
                    candidate.kwargs[name] = specs
                    candidate.reason += f"; `{name}` is indexed by {', '.join(map(repr, keys[name]))} in forward"
                elif name in samples:
                    candidate.args.append(_sample_list(samples[name], primary))
                    candidate.reason += (f"; `{name}` is a list of samples, each read by "
                                         f"{', '.join(map(repr, samples[name]))} in forward")
                else:
                    candidate.args.append(_spec_for(name, hint, primary, model))
            yield candidate


def _sample_list(keys: list[str], primary: TensorSpec) -> SampleList:
    """One dict per sample: the first key holds the sample (the batch's tensor without its batch
    dimension), a `*size`/`*shape` key its spatial size as a tuple of ints."""
    sample: dict[str, Any] = {}
    for key in keys:
        if key.lower().endswith(("size", "shape")):
            sample[key] = tuple(primary.shape[2:])
        else:
            sample[key] = TensorSpec(primary.shape[1:], primary.dtype, primary.high, primary.ones)
    return SampleList(primary.shape[0], sample)


def _dict_variants(keys: list[str], primary: TensorSpec, model: nn.Module) -> list[tuple[dict[str, TensorSpec], str]]:
    """Specs for a dict input; for images, also a variant whose channels add up to in_channels
    (the keys are often concatenated before the first convolution)."""
    specs = {key: _spec_for(key, "", primary, model) for key in keys}
    variants = [(specs, "")]
    if len(primary.shape) < 3 or not primary.dtype.is_floating_point:
        return variants
    full = [key for key, spec in specs.items() if spec.shape == primary.shape]
    others = [key for key, spec in specs.items() if spec.dtype.is_floating_point
              and spec.shape[2:] == primary.shape[2:] and spec.shape != primary.shape]
    remaining = primary.shape[1] - sum(specs[key].shape[1] for key in others)
    if len(full) == 1 and others and remaining >= 1:
        split = dict(specs)
        split[full[0]] = TensorSpec((BATCH, remaining) + primary.shape[2:])
        why = f"; channels split so that {' + '.join(keys)} give in_channels={primary.shape[1]}"
        variants.insert(0, (split, why))
    return variants


def _primary_specs(
    model: nn.Module, first: nn.Module | None, hints: tuple[SizeHint, ...], *, small: bool
) -> Iterator[tuple[TensorSpec, str]]:
    label = f"first layer {type(first).__name__}" if first is not None else "no recognised first layer"
    if isinstance(first, nn.Embedding):
        for length, why in _lengths(model, hints, small=small):
            yield (TensorSpec((BATCH, length), torch.int64, high=first.num_embeddings),
                   f"{label}({first.num_embeddings}) takes token ids; length {length} from {why}")
    elif isinstance(first, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        dims = 1 if isinstance(first, nn.Conv1d) else 3 if isinstance(first, nn.Conv3d) else 2
        for size, why in _image_sizes(hints, model, small=small):
            yield (TensorSpec((BATCH, first.in_channels) + (size,) * dims),
                   f"{label}(in_channels={first.in_channels}); size {size} from {why}")
    elif isinstance(first, nn.Linear):
        yield TensorSpec((BATCH, first.in_features)), f"{label}(in_features={first.in_features})"
    elif isinstance(first, (nn.LSTM, nn.GRU, nn.RNN)):
        shape = (BATCH, 16, first.input_size) if first.batch_first else (16, BATCH, first.input_size)
        yield TensorSpec(shape), f"{label}(input_size={first.input_size}), 16 steps"
    else:
        for size, why in _image_sizes(hints, model, small=small):
            yield TensorSpec((BATCH, 3, size, size)), f"{label}; an image batch, size {size} from {why}"


_LAYER_KINDS = (nn.Embedding, (nn.Conv1d, nn.Conv2d, nn.Conv3d), nn.Linear, (nn.LSTM, nn.GRU, nn.RNN))


def _first_layers(model: nn.Module) -> list[nn.Module | None]:
    """The first layer of each kind, in the order they are registered: the first one is usually where
    the input goes in, but a diffusion UNet registers its time-embedding MLP before its first
    convolution."""
    found: list[nn.Module | None] = []
    for module in model.modules():
        kind = next((kind for kind in _LAYER_KINDS if isinstance(module, kind)), None)
        if kind is not None and not any(isinstance(seen, kind) for seen in found):
            found.append(module)
    return found or [None]


def _lengths(model: nn.Module, hints: tuple[SizeHint, ...], *, small: bool) -> list[tuple[int, str]]:
    found = [(hint.value, hint.evidence) for hint in hints if hint.kind == "sequence-length"]
    found += _config_lengths(model)
    found += [(16, "a default")]
    if small:
        found = [(min(length, 32), why + ", capped at 32 for a real run") for length, why in found]
    return _unique(found)


def _config_lengths(model: nn.Module) -> list[tuple[int, str]]:
    found = []
    for owner_name in ("", "config", "cfg", "args", "hparams", "params"):
        owner = model if not owner_name else _safe_getattr(model, owner_name)
        for attribute in _LENGTH_ATTRIBUTES:
            value = owner.get(attribute) if isinstance(owner, dict) else _safe_getattr(owner, attribute)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                found.append((value, f"`{owner_name or 'self'}.{attribute}`"))
    return found


_IMAGE_SIZE_ATTRIBUTES = ("img_size", "image_size", "input_size", "input_resolution", "image_resolution")


def _image_sizes(hints: tuple[SizeHint, ...], model: nn.Module, *, small: bool) -> list[tuple[int, str]]:
    # the size the built model keeps (`self.image_size`, set from its arguments) first: a script's
    # option defaults are hints about a build that may not be this one (`--init image_size=32`)
    found = _model_image_sizes(model)
    found += [(hint.value, hint.evidence) for hint in hints if hint.kind == "image-size"]
    found += [(32, "a default (CIFAR-sized)"), (224, "a default (ImageNet-sized)"),
              (28, "a default (MNIST-sized)"), (64, "a default")]
    return _unique(found)


def _model_image_sizes(model: nn.Module) -> list[tuple[int, str]]:
    """The size the model says it takes: `self.img_size`, `self.image_encoder.img_size`, `config.image_size`."""
    owners = [("self", model), ("config", _safe_getattr(model, "config"))]
    owners += [(name, child) for name, child in model.named_children()]
    found = []
    for owner_name, owner in owners:
        for attribute in _IMAGE_SIZE_ATTRIBUTES:
            value = owner.get(attribute) if isinstance(owner, dict) else _safe_getattr(owner, attribute)
            if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
                value = value[0]
            if isinstance(value, int) and not isinstance(value, bool) and 8 <= value <= 4096:
                found.append((value, f"`{owner_name}.{attribute}`"))
    return found


def _unique(found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for value, why in found:
        seen.setdefault(value, why)
    return list(seen.items())


def _required_parameters(model: nn.Module) -> list[tuple[str, str]]:
    """(name, annotation text) of `forward`'s parameters that have no default."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return [("x", "")]
    required = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is parameter.empty:
            hint = parameter.annotation
            text = "" if hint is parameter.empty else getattr(hint, "__name__", str(hint))
            required.append((parameter.name, text))
    return required


def _spec_for(name: str, hint: str, primary: TensorSpec, model: nn.Module) -> TensorSpec | bool:
    if hint == "bool":  # `multimask_output: bool`: a flag, not a tensor
        return False
    lowered = name.lower()
    is_ids = primary.dtype == torch.int64
    if lowered in _MASK_NAMES:
        if len(primary.shape) >= 3 and primary.dtype.is_floating_point:  # an image mask
            return TensorSpec((BATCH, 1) + primary.shape[2:], ones=True)
        return TensorSpec(primary.shape[:2], torch.int64, ones=True)
    if lowered in _STEP_NAMES and primary.dtype.is_floating_point:
        return TensorSpec((BATCH,), torch.int64, high=DIFFUSION_STEPS)
    if lowered in _NOISE_LEVEL_NAMES and primary.dtype.is_floating_point:
        return TensorSpec((BATCH,), torch.float32, ones=True)  # positive: models take its log
    if lowered in _TARGET_NAMES:
        if is_ids:
            return TensorSpec(primary.shape, torch.int64, high=primary.high)
        return TensorSpec((BATCH,), torch.int64, high=_classes(model))
    if (lowered in _ID_NAMES or "Long" in hint) and not is_ids:  # token ids beside an image (`forward(image, text)`)
        embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
        lengths = _config_lengths(model)
        return TensorSpec((BATCH, lengths[0][0] if lengths else 16), torch.int64,
                          high=embedding.num_embeddings if embedding is not None else 2)
    return primary


def _classes(model: nn.Module) -> int:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return last[-1].out_features if last else 2


def _dict_keys(model: nn.Module, parameters: list[tuple[str, str]]) -> dict[str, list[str]]:
    """`forward(self, batch)` reading `batch["image"]`: parameter name → the string keys it reads."""
    tree = _forward_tree(model)
    if tree is None:
        return {}
    names = {name for name, _ in parameters}
    keys: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                and node.value.id in names and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            keys.setdefault(node.value.id, [])
            if node.slice.value not in keys[node.value.id]:
                keys[node.value.id].append(node.slice.value)
    return keys


def _sample_keys(model: nn.Module, parameters: list[tuple[str, str]]) -> dict[str, list[str]]:
    """`for x in batched_input: x["image"]` (or a comprehension, or `zip(batched_input, ...)`):
    parameter → the string keys every sample is read by; a key tested with `"k" in x` is optional."""
    tree = _forward_tree(model)
    if tree is None:
        return {}
    names = {name for name, _ in parameters}
    loops: dict[str, str] = {}  # loop variable → the parameter it walks
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.comprehension)):
            loops.update(_walked(node.target, node.iter, names))
    read: dict[str, list[str]] = {}
    optional: set[tuple[str, str]] = set()
    guarded = {id(inner) for node in ast.walk(tree) if isinstance(node, (ast.If, ast.IfExp)) and _tests_a_key(node.test, loops)
               for part in ([node.body] if isinstance(node, ast.IfExp) else node.body) for inner in ast.walk(part)}
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if id(node) in guarded:  # read only when the sample has another, optional key
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in loops \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            keys = read.setdefault(loops[node.value.id], [])
            if node.slice.value not in keys:
                keys.append(node.slice.value)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In) \
                and isinstance(node.left, ast.Constant) and isinstance(node.comparators[0], ast.Name) \
                and node.comparators[0].id in loops:
            optional.add((loops[node.comparators[0].id], str(node.left.value)))
    found = {name: [key for key in keys if (name, key) not in optional] for name, keys in read.items()}
    return {name: keys for name, keys in found.items() if keys}


def _tests_a_key(test: ast.expr, loops: dict[str, str]) -> bool:
    """`"point_coords" in record` (alone or in a boolean expression), `record` a sample."""
    return any(isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In) and isinstance(node.left, ast.Constant)
               and isinstance(node.comparators[0], ast.Name) and node.comparators[0].id in loops
               for node in ast.walk(test))


def _walked(target: ast.expr, iterable: ast.expr, names: set[str]) -> dict[str, str]:
    if isinstance(target, ast.Name) and isinstance(iterable, ast.Name) and iterable.id in names:
        return {target.id: iterable.id}
    if isinstance(target, ast.Tuple) and isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) \
            and iterable.func.id == "zip":
        return {element.id: argument.id for element, argument in zip(target.elts, iterable.args)
                if isinstance(element, ast.Name) and isinstance(argument, ast.Name) and argument.id in names}
    return {}


def _forward_tree(model: nn.Module) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(type(model).forward)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def _as_call(example: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(example, dict):
        return [], dict(example)
    if isinstance(example, (tuple, list)):
        return list(example), {}
    return [example], {}


def _build(spec: Spec, device: torch.device) -> Any:
    if isinstance(spec, TensorSpec):
        return spec.build(device)
    if isinstance(spec, dict):
        return {key: _build(value, device) for key, value in spec.items()}
    if isinstance(spec, SampleList):
        return [_build(spec.sample, device) for _ in range(spec.count)]
    if isinstance(spec, torch.Tensor):
        return spec.to(device) if spec.device != device else spec
    if isinstance(spec, (tuple, list)):
        return type(spec)(_build(item, device) for item in spec)
    return spec


def _spec_text(spec: Spec) -> str:
    if isinstance(spec, TensorSpec):
        return spec.text()
    if isinstance(spec, torch.Tensor):
        return "x".join(map(str, spec.shape)) + ":" + str(spec.dtype).removeprefix("torch.")
    if isinstance(spec, dict):
        return "{" + ", ".join(f"{key}: {_spec_text(value)}" for key, value in spec.items()) + "}"
    if isinstance(spec, SampleList):
        return f"[{spec.count} × {_spec_text(spec.sample)}]"
    if isinstance(spec, (tuple, list)):
        return "(" + ", ".join(_spec_text(item) for item in spec) + ")"
    if isinstance(spec, (bool, int, float)) or spec is None:
        return repr(spec)
    return type(spec).__name__


def _safe_getattr(owner: Any, name: str) -> Any:
    try:
        return getattr(owner, name, None)
    except Exception:  # properties of the repo's code may raise anything
        return None
