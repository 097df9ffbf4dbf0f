"""`trace` on the trace zoo: shapes against hand-computed values, planted flags with their
locations, failure reports, the 7B model on meta, and a JSON snapshot per fixture.

The models run in child processes; they are traced once per session, two at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from repo_reader.model import FlagKind, ModelTrace, ModuleCall, ShapeTrace, TraceStatus
from repo_reader.render.trace_json import render_trace_json
from repo_reader.render.trace_markdown import render_trace_markdown
from repo_reader.trace.api import TraceOptions, load_map, trace_repository

ZOO = Path(__file__).resolve().parent.parent / "fixtures" / "trace_zoo"
MODELS = {
    "small_cnn": "small_cnn.SmallCNN",
    "tiny_gpt": "tiny_gpt.TinyGPT",
    "unused_branch": "unused_branch.UnusedBranchNet",
    "plain_list": "plain_list.PlainListMLP",
    "detached_head": "detached_head.DetachedHeadNet",
    "shared_module": "shared_module.SharedModuleNet",
    "dict_io": "dict_io.DictIONet",
    "argparse_model": "argparse_model.models.MLP",
    "needs_missing_pkg": "needs_missing_pkg.FlashBlock",
    "failing_forward": "failing_forward.FailingForwardNet",
    "data_dependent": "data_dependent.DataDependentNet",
    "smoke_main": "smoke_main.SmokeTestedNet",
    "pretrained_hub": "pretrained.HubBackbone",
    "pretrained_factory": "pretrained.PretrainedClassifier",
    "hub_load": "pretrained.HubHead",
}
REGISTRY = Path(__file__).resolve().parent.parent / "fixtures" / "registry_config"


@pytest.fixture(scope="session")
def llama() -> tuple[ModelTrace, float]:
    """The 7B model traced alone, with the whole `trace_repository` call timed."""
    started = time.perf_counter()
    trace = trace_repository(ZOO, TraceOptions(models=("llama7b.Llama",), device="meta", backward=True, timeout=60))
    return trace.models[0], time.perf_counter() - started


@pytest.fixture(scope="session")
def zoo() -> dict[str, ModelTrace]:
    options = TraceOptions(models=tuple(MODELS.values()), backward=True, timeout=90, jobs=2)
    trace = trace_repository(ZOO, options, load_map(ZOO, use_cache=False))
    return {name: model for name, model in zip(MODELS, trace.models, strict=True)}


def module(trace: ModelTrace, path: str) -> ModuleCall:
    return next(call for call in trace.modules if call.path == path)


def out_shape(trace: ModelTrace, path: str) -> tuple[int, ...]:
    value = module(trace, path).outputs
    assert value is not None and value.kind == "tensor"
    return value.shape


def flag_at(trace: ModelTrace, kind: FlagKind, name: str) -> str:
    flag = next(f for f in trace.flags if f.kind is kind and f.module == name)
    assert flag.location is not None
    return f"{flag.location.path}:{flag.location.line}"


def test_small_cnn_shapes_params_and_flops(zoo: dict[str, ModelTrace]) -> None:
    cnn = zoo["small_cnn"]
    assert cnn.status is TraceStatus.OK and cnn.device == "meta"
    # Input 2x3x32x32 (Conv2d in_channels=3, CIFAR-sized default); padding 1 keeps 32, pool halves.
    assert out_shape(cnn, "conv1") == (2, 8, 32, 32)
    assert out_shape(cnn, "pool") == (2, 8, 16, 16)
    assert out_shape(cnn, "conv2") == (2, 16, 16, 16)
    assert out_shape(cnn, "gap") == (2, 16, 1, 1)
    assert out_shape(cnn, "flatten") == (2, 16)
    assert out_shape(cnn, "") == (2, 10)
    assert cnn.total_params == (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 10 + 10)
    conv1 = 2 * 2 * 8 * 32 * 32 * 3 * 9  # 2 * B * Cout * H * W * Cin * k * k
    conv2 = 2 * 2 * 16 * 16 * 16 * 8 * 9
    assert module(cnn, "conv1").flops == conv1
    assert cnn.flops == conv1 + conv2 + 2 * 2 * 16 * 10
    assert [call.path for call in sorted(cnn.modules, key=lambda c: c.order)][:3] == ["", "conv1", "relu1"]
    assert module(cnn, "conv1").defined_at is not None and module(cnn, "conv1").defined_at.line == 15
    assert module(cnn, "conv1").called_at is not None and module(cnn, "conv1").called_at.line == 25
    assert cnn.flags == ()


def test_tiny_gpt_shapes_tied_weights_and_attention_flops(zoo: dict[str, ModelTrace]) -> None:
    gpt = zoo["tiny_gpt"]
    assert gpt.status is TraceStatus.OK
    attempt = next(a for a in gpt.input_attempts if a.error is None)
    assert attempt.description == "2x16:int64" and "block_size" in attempt.reason
    assert out_shape(gpt, "tok_emb") == (2, 16, 16)
    assert out_shape(gpt, "blocks.0.attn.qkv") == (2, 16, 48)
    assert out_shape(gpt, "") == (2, 16, 50)
    block = 32 + (16 * 48 + 48) + (16 * 16 + 16) + 32 + (16 * 64 + 64) + (64 * 16 + 16)
    assert gpt.total_params == 50 * 16 + 16 * 16 + 2 * block + 32  # head.weight is tok_emb.weight
    tokens = 2 * 16
    linear = 2 * tokens * (16 * 48 + 16 * 16 + 16 * 64 + 64 * 16)
    attention = 2 * (2 * 2 * 2 * 16 * 16 * 8)  # QK^T and AV: 2 * B * heads * T * T * head_dim each
    assert module(gpt, "blocks.0").flops == linear + attention
    assert gpt.flops == 2 * (linear + attention) + 2 * tokens * 16 * 50
    assert flag_at(gpt, FlagKind.SHARED_PARAMETER, "tok_emb.weight") == "tiny_gpt.py:47"
    assert not [f for f in gpt.flags if f.kind is FlagKind.NEVER_CALLED]  # ModuleList is not "not called"


def test_unused_branch_flags_never_called_and_train_only(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["unused_branch"]
    assert flag_at(trace, FlagKind.NEVER_CALLED, "aux_head") == "unused_branch.py:21"
    assert flag_at(trace, FlagKind.MODE_ONLY, "dropout") == "unused_branch.py:19"
    mode_only = next(f for f in trace.flags if f.kind is FlagKind.MODE_ONLY)
    assert "train mode only" in mode_only.message and "eval" in mode_only.message
    assert all("dead" not in f.message for f in trace.flags)


def test_plain_list_flagged_on_the_live_instance(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["plain_list"]
    assert flag_at(trace, FlagKind.PLAIN_CONTAINER, "layers") == "plain_list.py:17"
    assert "3 layer(s)" in trace.flags[0].message
    assert trace.total_params == 8 * 2 + 2  # the listed layers are invisible to .parameters()


def test_detached_head_no_gradient(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["detached_head"]
    no_grad = [f for f in trace.flags if f.kind is FlagKind.NO_GRADIENT]
    assert [f.module for f in no_grad] == ["unused_scale"]  # the backbone still learns through aux_head
    assert flag_at(trace, FlagKind.NO_GRADIENT, "unused_scale") == "detached_head.py:20"
    output = module(trace, "").outputs
    assert output is not None and [item.shape for _, item in output.items] == [(2, 4), (2, 3)]


def test_shared_module_called_twice_and_aliased(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["shared_module"]
    assert module(trace, "block").calls == 2
    assert flag_at(trace, FlagKind.SHARED_MODULE, "block") == "shared_module.py:17"
    alias = next(f for f in trace.flags if f.kind is FlagKind.SHARED_MODULE and f.module == "a")
    assert "a and b" in alias.message and "2 time(s)" in alias.message
    assert trace.total_params == 2 * (4 * 4 + 4)
    assert not [f for f in trace.flags if f.kind is FlagKind.NEVER_CALLED]


def test_dict_input_and_output(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["dict_io"]
    assert trace.status is TraceStatus.OK
    root = module(trace, "")
    assert root.inputs is not None
    batch = dict(root.inputs.items)["batch"]
    assert batch.kind == "dict" and dict(batch.items)["image"].shape == (2, 3, 32, 32)
    assert dict(batch.items)["mask"].shape == (2, 1, 32, 32)
    assert root.outputs is not None and root.outputs.kind == "dict"
    assert {key: value.shape for key, value in root.outputs.items} == {"logits": (2, 5), "aux": (2, 1, 32, 32)}


def test_argparse_defaults_build_the_model(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["argparse_model"]
    assert trace.status is TraceStatus.OK and trace.construction is not None
    assert {a.name: a.value for a in trace.construction.args} == {"in_dim": "20", "hidden": "64", "layers": "3"}
    assert "--in-dim" in trace.construction.args[0].source
    assert "argparse_model/train.py:26" in trace.construction.method
    assert module(trace, "body.0").inputs is not None
    assert out_shape(trace, "body.0") == (2, 64) and out_shape(trace, "") == (2, 1)


def test_missing_package_named_with_its_importer(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["needs_missing_pkg"]
    assert trace.status is TraceStatus.MISSING_PACKAGE and trace.failure is not None
    assert trace.failure.package == "flash_attn_imaginary"
    assert trace.failure.importer is not None
    assert (trace.failure.importer.path, trace.failure.importer.line) == ("needs_missing_pkg.py", 10)


def test_failing_forward_reports_the_line(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["failing_forward"]
    assert trace.status is TraceStatus.FORWARD_ERROR and trace.failure is not None
    assert trace.failure.exception == "RuntimeError"
    assert trace.failure.location is not None
    assert (trace.failure.location.path, trace.failure.location.line) == ("failing_forward.py", 22)
    assert all(a.error for a in trace.input_attempts)


def test_llama_7b_on_meta(llama: tuple[ModelTrace, float]) -> None:
    trace, _ = llama
    assert trace.status is TraceStatus.OK and trace.device == "meta"
    assert trace.total_params == 6_738_415_616
    assert out_shape(trace, "") == (2, 2048, 32000)
    assert module(trace, "layers.31").calls == 1


def test_llama_7b_traces_on_meta_without_falling_back(llama: tuple[ModelTrace, float]) -> None:
    """What keeps a 7B trace cheap: it runs on the meta device at the first try. Its time and memory
    are measured in benchmarks/bench_trace.py, not asserted here (a loaded machine is not slow code)."""
    trace, _ = llama
    assert (trace.status, trace.device) == (TraceStatus.OK, "meta")
    assert [attempt.error for attempt in trace.input_attempts] == [None]


def test_data_dependent_falls_back_to_cpu(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["data_dependent"]
    assert trace.status is TraceStatus.OK and trace.device == "cpu"
    assert any("data-dependent" in note for note in trace.device_notes)
    assert [a.error is None for a in trace.input_attempts] == [False, False, True]


def test_smoke_test_input_comes_before_first_layer_guesses(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["smoke_main"]
    assert trace.status is TraceStatus.OK
    # the first-layer guesses (32, 224, 28, 64) would all fail at fc; the smoke test's input runs first
    assert [(a.source, a.description, a.error) for a in trace.input_attempts] == [("repo-code", "2x3x48x48:float32", None)]
    assert trace.input_attempts[0].reason == "as built in smoke_main.py:28 (`__main__` smoke test)"
    assert out_shape(trace, "conv") == (2, 4, 24, 24) and out_shape(trace, "") == (2, 5)


def test_pretrained_download_in_init_gets_random_weights(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["pretrained_hub"]
    assert trace.status is TraceStatus.OK and trace.construction is not None
    assert trace.construction.notes == (
        "pretrained weights not downloaded (https://example.invalid/weights/hub-backbone.pth): random weights used",)
    assert trace.total_params == (3 * 8 * 9 + 8) + (8 * 10 + 10) and out_shape(trace, "") == (2, 10)


def test_from_pretrained_builds_with_random_weights(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["pretrained_factory"]
    assert trace.status is TraceStatus.OK and trace.construction is not None
    assert "pretrained_demo.py:11 with PretrainedClassifier.from_pretrained(...)" in trace.construction.method
    assert [(a.name, a.value) for a in trace.construction.args] == [("name", "'classifier-base'"), ("num_classes", "3")]
    assert any("classifier-base.pth): random weights used" in note for note in trace.construction.notes)
    assert trace.input_attempts[0].reason == "as built in pretrained_demo.py:12 (repository code)"
    assert out_shape(trace, "") == (4, 3)  # num_classes=3 from the call; batch 4 from the demo's input


def test_hub_load_in_init_fails_offline_at_its_line(zoo: dict[str, ModelTrace]) -> None:
    trace = zoo["hub_load"]
    assert trace.status is TraceStatus.CONSTRUCTOR_ERROR and trace.failure is not None
    assert trace.failure.exception == "NetworkBlocked" and trace.failure.location is not None
    assert (trace.failure.location.path, trace.failure.location.line) == ("pretrained.py", 52)
    assert "torch.hub.load('facebookresearch/dino:main', 'dino_vits16')" in trace.failure.message


def test_registry_models_built_from_their_yaml_sections() -> None:
    trace = trace_repository(REGISTRY, TraceOptions(models=("ResNetSmall", "ViTTiny"), timeout=60, jobs=2))
    resnet, vit = trace.models
    assert resnet.status is TraceStatus.OK and resnet.construction is not None
    assert {a.name: a.value for a in resnet.construction.args} == {
        "num_classes": "10", "widths": "[16, 32, 64]", "blocks_per_stage": "1"}
    assert out_shape(resnet, "blocks") == (2, 64, 8, 8) and out_shape(resnet, "") == (2, 10)
    assert vit.status is TraceStatus.OK and out_shape(vit, "blocks.0") == (2, 65, 64)  # 64 patches + a class token
    # MultiheadAttention uses out_proj's weights without calling it: not flagged as never called
    assert not [f for f in vit.flags if f.kind is FlagKind.NEVER_CALLED]


def test_infinite_init_times_out() -> None:
    started = time.perf_counter()
    trace = trace_repository(ZOO, TraceOptions(models=("infinite_init.InfiniteInitNet",), timeout=3))
    model = trace.models[0]
    assert model.status is TraceStatus.TIMEOUT and model.failure is not None
    assert "--timeout 3" in model.failure.message
    assert time.perf_counter() - started < 15


@pytest.mark.parametrize("name", sorted(MODELS))
def test_json_snapshot(zoo: dict[str, ModelTrace], name: str, snapshot: Callable[[str, str], None]) -> None:
    text = render_trace_json(ShapeTrace(root="trace_zoo", models=(zoo[name],)))
    assert json.loads(text)["schema_version"] == 1
    snapshot(f"trace/{name}.json", text)


def test_llama_markdown_snapshot_folds_blocks(llama: tuple[ModelTrace, float], snapshot: Callable[[str, str], None]) -> None:
    text = render_trace_markdown(ShapeTrace(root="trace_zoo", models=(llama[0],)))
    assert "0-31: TransformerBlock x 32" in text
    snapshot("trace/llama7b.md", text)  # the JSON (400+ modules) is checked by assertions instead


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA GPU")
def test_cuda_reports_time_and_peak_memory() -> None:
    trace = trace_repository(ZOO, TraceOptions(models=("small_cnn.SmallCNN",), device="cuda", timeout=120))
    model = trace.models[0]
    assert model.status is TraceStatus.OK and model.device == "cuda"
    conv1 = module(model, "conv1")
    assert conv1.time_ms is not None and conv1.time_ms > 0
    assert conv1.peak_memory is not None and conv1.peak_memory > 0
    assert out_shape(model, "") == (2, 10)
