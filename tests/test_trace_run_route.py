"""The run route: `trace` runs the repository's training script to its optimizer and traces the live
model. One fixture per shape seen in real repositories (fixtures/run_route/), with exact answers."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from helpers import FIXTURES

from repo_reader.model import ModelTrace, TraceStatus
from repo_reader.trace.api import TraceOptions, trace_repository
from repo_reader.trace.launch import launch_arguments, training_entry

RUN = FIXTURES / "run_route"


def first_model(case: str, **options: object) -> ModelTrace:
    trace = trace_repository(RUN / case, TraceOptions(max_models=1, use_cache=False, jobs=1, **options))  # type: ignore[arg-type]
    return trace.models[0]


def ran_input(model: ModelTrace) -> str:
    return next(attempt.description for attempt in model.input_attempts if attempt.error is None)


@pytest.mark.parametrize(("case", "qualname", "params", "stop", "given"), [
    # a module-level script configured by `exec(open("configurator.py").read())`, the model built in an
    # `if init_from == "scratch":`, from the README's `config/train_small.py --batch_size=8`
    ("exec_configurator", "model.GPT", 12_480, "AdamW at model.py:34", "8x32:int64, 8x32:int64"),
    # a config object built by a function, from the README's `--preset small`
    ("config_builder", "model.GPT", 33_344, "AdamW at train.py:13", "4x16:int64"),
    # a registry whose argument is computed (`input_size=args.image_size // 8`); forward(x, t, y)
    ("registry_computed", "models.DiT", 571_456, "AdamW at train.py:13", "2x4x32x32:float32, 2:int64, 2:int64"),
    # `instantiate_from_config(config["model"])` naming the class by its import path, the config at a relative path
    ("target_config", "ldm.autoencoder.AutoencoderKL", 3_419, "Adam at train.py:17", "2x3x64x64:float32"),
    # parameters synced with broadcast/all_gather/all_reduce before the optimizer, as one process
    ("collectives", "train.Net", 262, "SGD at train.py:43", "4x10:float32"),
    # the model's file starts with a UTF-8 byte-order mark
    ("bom_model", "model.TinyNet", 62_810, "SGD at train.py:7", "4x1x28x28:float32"),
])
def test_the_training_script_builds_its_own_model(case: str, qualname: str, params: int, stop: str, given: str) -> None:
    model = first_model(case)
    assert (model.qualname, model.status, model.device, model.total_params) == (qualname, TraceStatus.OK, "meta", params)
    assert model.construction is not None and model.construction.method.startswith("built by running `python train.py")
    assert f"to its optimizer ({stop}); input from the script's first call of the model" in model.construction.method
    assert ran_input(model) == given
    assert model.input_attempts[0].source == "first-call"


def test_arguments_after_the_double_dash_replace_the_readme_ones() -> None:
    model = first_model("config_builder", entry_argv=("--preset", "base"))
    assert model.total_params == 85_214_208  # 12 layers of 768: the base preset, on meta
    assert model.construction is not None and "`python train.py --preset base`" in model.construction.method


def test_the_readme_command_gives_the_arguments() -> None:
    from repo_reader.api import build_map

    entry = training_entry(build_map(RUN / "config_builder", use_cache=False))
    assert entry is not None and entry.path == "train.py" and launch_arguments(entry) == ("--preset", "small")


def test_the_static_route_stays_available() -> None:
    model = first_model("config_builder", route="static")
    assert model.construction is not None and not model.construction.method.startswith("built by running")


def test_the_run_leaves_the_repository_untouched() -> None:
    before = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (RUN / "target_config").rglob("*") if path.is_file()}
    first_model("target_config")
    after = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (RUN / "target_config").rglob("*") if path.is_file()}
    assert after == before  # no __pycache__, no checkpoint, no log: the script ran in a disposable copy


def test_a_child_that_segfaults_on_meta_is_run_again_on_the_cpu() -> None:
    model = first_model("fake_segfault")
    assert (model.qualname, model.status, model.device) == ("model.NativeNet", TraceStatus.OK, "cpu")
    assert model.construction is not None and model.construction.notes[-1] == (
        "the child crashed with SIGSEGV on the meta/fake device ladder; run again on the CPU with real values")


def test_a_library_is_built_the_way_its_readme_shows() -> None:
    """No documented training script (only a self-test under a `__main__` guard): the README's Python
    blocks run in order; the first module they call is the model, with what they pass it."""
    trace = trace_repository(FIXTURES / "readme_library", TraceOptions(max_models=1, use_cache=False, jobs=1))
    model = trace.models[0]
    assert (model.qualname, model.status, model.total_params) == ("tinydiff.diffusion.Diffusion", TraceStatus.OK, 627)
    assert model.construction is not None
    assert model.construction.method == ("built by running the Python code of README.md (2 block(s)); "
                                         "input from the code's first call of the model")
    assert ran_input(model) == "4x3x16x16:float32"


def test_experiment_loggers_that_are_not_installed_get_stand_ins() -> None:
    """`import wandb` and `torch.utils.tensorboard` (without the tensorboard package) do not stop the run."""
    import importlib.util

    model = first_model("registry_computed")
    assert model.status is TraceStatus.OK and model.construction is not None
    absent = sorted(name for name, needs in (("torch.utils.tensorboard", "tensorboard"), ("wandb", "wandb"))
                    if importlib.util.find_spec(needs) is None)
    if not absent:
        pytest.skip("wandb and tensorboard are both installed here: no stand-in to check")
    assert f"experiment loggers replaced by stand-ins that do nothing: {', '.join(absent)}" in model.construction.notes


def test_every_missing_package_the_script_needs_is_named_at_once() -> None:
    model = first_model("missing_packages", route="run")
    assert model.status is TraceStatus.MISSING_PACKAGE and model.failure is not None
    assert model.failure.message.endswith(
        "needs packages that are not installed: not_installed_logger_pkg (imported by train.py:3), "
        "not_installed_data_pkg (imported by lib/data.py:2); pip install not_installed_logger_pkg not_installed_data_pkg")


def test_model_accepts_a_registered_factory_name() -> None:
    trace = trace_repository(FIXTURES / "library_registry",
                             TraceOptions(models=("vision_net_small",), use_cache=False, jobs=1))
    (model,) = trace.models
    assert (model.qualname, model.status, model.total_params) == ("zoo.models.vit.VisionNet", TraceStatus.OK, 2_471_818)
    assert model.construction is not None and model.construction.method == (
        "built by its factory function vision_net_small() (zoo.models.vit.vision_net_small), with its defaults")


def test_a_class_whose_constructor_needs_modules_is_built_by_its_factory(tmp_path: Path) -> None:
    """segment-anything's shape: `Sam(image_encoder, mask_decoder)` is only ever built in `build_sam()`."""
    (tmp_path / "sam.py").write_text(
        "from torch import nn\n\n\nclass Sam(nn.Module):\n    def __init__(self, image_encoder, mask_decoder):\n"
        "        super().__init__()\n        self.image_encoder = image_encoder\n        self.mask_decoder = mask_decoder\n\n"
        "    def forward(self, x):\n        return self.mask_decoder(self.image_encoder(x))\n")
    (tmp_path / "build_sam.py").write_text(
        "from torch import nn\n\nfrom sam import Sam\n\n\ndef build_sam(width=16):\n"
        "    return Sam(nn.Linear(8, width), nn.Linear(width, 2))\n")
    trace = trace_repository(tmp_path, TraceOptions(use_cache=False, jobs=1, max_models=1))
    model = trace.models[0]
    assert (model.qualname, model.status, model.total_params) == ("sam.Sam", TraceStatus.OK, 8 * 16 + 16 + 16 * 2 + 2)
    assert model.construction is not None and model.construction.method.startswith("built by its factory function build_sam()")


def test_a_model_defined_in_a_notebook_is_built_by_running_its_cells() -> None:
    """`%matplotlib inline` is dropped; the cells run in order to the optimizer, then the first call."""
    trace = trace_repository(FIXTURES / "messy", TraceOptions(models=("exploration.NotebookNet",), use_cache=False, jobs=1))
    (model,) = trace.models
    assert (model.qualname, model.path, model.status, model.total_params) == (
        "exploration.NotebookNet", "exploration.ipynb", TraceStatus.OK, 20 * 16 + 16 + 16 * 2 + 2)
    assert model.construction is not None and model.construction.method == (
        "built by running the code cells of exploration.ipynb (3 cells); input from the code's first call of the model")
    assert ran_input(model) == "64x20:float32"


def test_a_lightning_cli_script_runs_to_its_module_s_optimizer() -> None:
    """`python main.py fit --config config.yaml` (LightningCLI with a datamodule): the optimizer built
    in `configure_optimizers` names the LightningModule, and the datamodule's batch is its input.
    lightning and jsonargparse come with the test extras."""
    pytest.importorskip("lightning")
    pytest.importorskip("jsonargparse")
    trace = trace_repository(FIXTURES / "lightning_project", TraceOptions(max_models=1, use_cache=False, jobs=1, route="run"))
    model = trace.models[0]
    assert (model.qualname, model.status, model.total_params) == ("model.LitClassifier", TraceStatus.OK, 118_282)
    assert model.construction is not None and model.construction.method.startswith(
        "built by running `python main.py fit --config config.yaml` to its optimizer (AdamW at model.py:57)")
    assert ran_input(model).endswith("x1x28x28:float32")


def test_the_static_route_calls_the_factory_the_registry_default_names() -> None:
    # `models_net.__dict__[args.model](...)` with `--model` defaulting to `net_l`, an alias of net_large (MAE's shape):
    # the static route builds Net with net_large(), not the first factory of the file
    model = first_model("registry_default", route="static")
    assert (model.qualname, model.status, model.total_params) == ("models_net.Net", TraceStatus.OK, 3_844)
    assert model.construction is not None
    assert model.construction.method == (
        "built by its factory function net_large() (models_net.net_large), as train.py:15 calls it, chosen by the "
        "default of --model in train.py (`args.model`) = 'net_l', with norm_out=False")
    # both routes agree: running train.py builds the same network
    assert first_model("registry_default").total_params == 3_844


def test_a_module_the_installed_package_no_longer_has_is_named_as_such() -> None:
    from repo_reader.trace.missing import vanished_module

    import importlib.metadata

    version = importlib.metadata.version("torch")
    assert vanished_module("ModuleNotFoundError: No module named 'torch._six'") == (
        f"the repository imports `torch._six`, which the installed torch ({version}) does not have: "
        "the code was written for an older torch")
    assert vanished_module("ModuleNotFoundError: No module named 'not_a_package_here.sub'") == ""
    assert vanished_module("ModuleNotFoundError: No module named 'blobfile'") == ""


def test_a_registry_s_default_key_names_the_factory_and_a_list_of_samples_is_fed() -> None:
    # segment-anything's shape: `registry["default"]` is the model a library's README means; forward takes a
    # list of per-image dicts read in a loop (the keys read unconditionally) and a bool flag
    model = first_model("registry_dict_default")
    assert (model.qualname, model.status, model.total_params) == ("segmenter.net.Segmenter", TraceStatus.OK, 995)
    assert model.construction is not None
    assert model.construction.method.startswith(
        "built by its factory function build_large() (segmenter.build.build_large), "
        "the 'default' entry of segmenter_registry")
    assert ran_input(model) == "[2 × {image: 3x64x64:float32, original_size: (64, 64)}], False"
    attempt = next(attempt for attempt in model.input_attempts if attempt.error is None)
    assert "`batched_input` is a list of samples" in attempt.reason and "size 64 from `encoder.img_size`" in attempt.reason


def test_sizes_on_the_command_that_runs_come_before_every_default() -> None:
    from repo_reader.model import EntryKind, EntryPoint, EntrySource
    from repo_reader.trace.launch import run_request
    from repo_reader.trace.request import SizeHint

    entry = EntryPoint("scripts/train.py", 30, 1, "scripts.train", EntryKind.TRAIN, 1, EntrySource.MAIN_GUARD,
                       "python scripts/train.py --image_size 128 --batch_size 4 --block_size=256", (), 90, ())
    default = SizeHint("image-size", 64, "default of --image_size in scripts/train.py")
    request = run_request(entry, Path("/repo"), None, device="meta", memory_limit=0, hints=(default,))
    shown = "python scripts/train.py --image_size 128 --batch_size 4 --block_size=256"
    assert request.hints == (SizeHint("image-size", 128, f"--image_size 128 in `{shown}`"),
                             SizeHint("sequence-length", 256, f"--block_size 256 in `{shown}`"), default)


def test_a_root_that_is_a_package_imports_itself() -> None:
    # the root has an `__init__.py` and its modules import each other relatively: the script runs as
    # `python -m package_root.train` from the folder above, and the static route imports `package_root.models`
    ran = first_model("package_root")
    assert (ran.qualname, ran.status, ran.total_params) == ("models.Net", TraceStatus.OK, 595)
    assert ran.construction is not None and ran.construction.method.startswith(
        "built by running `python -m package_root.train` to its optimizer (SGD at train.py:10)")
    static = first_model("package_root", route="static")
    assert (static.qualname, static.status, static.total_params) == ("models.Net", TraceStatus.OK, 595)


def test_a_hydra_target_is_built_with_its_default_group_s_arguments() -> None:
    pytest.importorskip("hydra")
    # `hydra.utils.instantiate(cfg.model)`, `_target_: models.convnet.ConvNet` in the `model: small` default group
    ran = first_model("hydra_target")
    assert (ran.qualname, ran.status, ran.total_params) == ("models.convnet.ConvNet", TraceStatus.OK, 314)
    assert ran_input(ran) == "4x3x32x32:float32"
    static = first_model("hydra_target", route="static")
    assert (static.qualname, static.status, static.total_params) == ("models.convnet.ConvNet", TraceStatus.OK, 314)
    assert static.construction is not None and static.construction.method == (
        "built from the section of conf/model/small.yaml, the `model` default of conf/config.yaml, "
        "whose `_target_` names it")
    assert [(arg.name, arg.value) for arg in static.construction.args] == [("channels", "8"), ("classes", "10")]


def test_init_values_are_python_expressions_evaluated_in_the_child() -> None:
    # `--init "config=GPTConfig(n_layer=4)"`: the model module's own config class, called in the child
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpt_project_model", FIXTURES / "gpt_project" / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up
    spec.loader.exec_module(module)
    expected = sum(p.numel() for p in module.GPT(module.GPTConfig(n_layer=4, n_embd=32, n_head=2)).parameters())
    given = "config=GPTConfig(n_layer=4, n_embd=32, n_head=2)"
    trace = trace_repository(FIXTURES / "gpt_project", TraceOptions(models=("model.GPT",), init=(given,),
                                                                    use_cache=False, jobs=1))
    (model,) = trace.models
    assert (model.status, model.total_params) == (TraceStatus.OK, expected)
    assert model.construction is not None
    assert [(arg.name, arg.value, arg.source) for arg in model.construction.args] == [
        ("config", "GPTConfig(n_layer=4, n_embd=32, n_head=2)", "--init")]
