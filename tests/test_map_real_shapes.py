"""The map on shapes of real repositories (issue: the right training script, the right model, the
right roles). Each fixture reproduces one shape seen in a real repository; the answers are exact."""

from __future__ import annotations

import json

from helpers import FIXTURES, analysis_of
from typer.testing import CliRunner

from repo_reader.cli import app


def top_level(name: str) -> list[tuple[str, str]]:
    return [(m.qualname, m.top_level_reason) for m in analysis_of(name).repo_map.ranked_top_level()]


def test_the_optimizer_names_the_trained_model() -> None:
    """MAE-style `param_groups(model_without_ddp)` then `AdamW(param_groups)`; a GAN's two optimizers,
    one over `itertools.chain(...)`. A loss and a post-processor built beside them are not top-level."""
    assert top_level("optimizer_trains") == [
        ("models.Encoder", "trained by the first-ranked entry point (its parameters go to AdamW at main_pretrain.py:19)"),
        ("gan.Generator", "trained by a training entry point (its parameters go to Adam at gan.py:37)"),
        ("gan.Mapping", "trained by a training entry point (its parameters go to Adam at gan.py:37)"),
        ("gan.Discriminator", "trained by a training entry point (its parameters go to Adam at gan.py:38)"),
    ]
    repo_map = analysis_of("optimizer_trains").repo_map
    assert [m.qualname for m in repo_map.models][:4] == [name for name, _ in top_level("optimizer_trains")]
    assert {m.qualname for m in repo_map.models if not m.top_level} == {"losses.SmoothedLoss", "models.PostProcess",
                                                                         "models.Block"}


def test_a_helper_that_builds_the_class_it_is_given() -> None:
    """`vit_tiny()` returns `build_with_cfg(ViT, **kw)`, re-exported by `models/__init__.py` and called
    through `models.__dict__[args.model]`; the optimizer is a repo subclass of `torch.optim.Optimizer`."""
    assert top_level("roles_real") == [
        ("models.vit.ViT", "trained by the first-ranked entry point (its parameters go to LARS at main_pretrain.py:23)")]
    vit = next(m for m in analysis_of("roles_real").repo_map.models if m.qualname == "models.vit.ViT")
    assert vit.factories == ("models.vit.vit_tiny",)
    assert [(s.path, s.line, s.caller) for s in vit.constructed_at] == [("models/vit.py", 18, "models.vit.vit_tiny")]


def test_a_library_ranks_the_class_most_factories_build_first() -> None:
    """No entry point builds a model (timm): the class with the most registered variants comes first,
    ahead of a network with more layers; the blocks they contain are not top-level."""
    assert top_level("library_registry") == [
        ("zoo.models.vit.VisionNet", "contained by no other model; 3 factory functions build it "
                                     "(vision_net_base, vision_net_small, ...)"),
        ("zoo.models.mixer.MixerNet", "contained by no other model; 1 factory function builds it (mixer_small)"),
    ]


ROLES_REAL = {
    "callbacks/model_checkpoint.py": "utils",  # named after the model it saves
    "configs/base_config.py": "config",  # a .py of settings in configs/
    "engine.py": "train",  # zero_grad() in a loop; backward() lives in a loss scaler
    "eval_retrieval.py": "eval",  # defines a Dataset, but the entry point evaluates
    "export_onnx.py": "other",  # an nn.Module wrapper for export is not the model
    "loop_state.py": "utils",  # dataclasses that are results, not configuration
    "losses.py": "utils",  # an nn.Module loss
    "main_pretrain.py": "train",  # an argparse script with an --eval flag whose loop is in engine.py
    "models/__init__.py": "other",  # only re-exports
    "models/_builder.py": "utils",  # helper functions in a model folder
    "models/predict.py": "eval",  # its own name outweighs its folder's
    "models/vit.py": "model",
    "optim/__init__.py": "other",  # empty
    "optim/lars.py": "utils",  # an optimizer whose step() is under @torch.no_grad()
    "submitit_pretrain.py": "train",  # a cluster launcher of main_pretrain.main
    "tokenizer.py": "utils",  # loads JSON, but is no configuration
    "tools/launch.py": "utils",
    "util/model_ema.py": "utils",  # an nn.Module that averages a model's weights is a helper
    "upsample_image.py": "eval",  # a module-level inference script parsing its own arguments is no settings file
    "util/__init__.py": "other",
    "util/misc.py": "utils",  # backward() and step() outside any loop: a training helper
}


def test_roles_of_real_shapes() -> None:
    files = {f.path: f for f in analysis_of("roles_real").repo_map.files}
    assert {path: info.role.value for path, info in files.items()} == ROLES_REAL
    assert files["submitit_pretrain.py"].evidence[0].reason == (
        "launches main_pretrain.main (line 9), a training entry point")
    assert files["eval_retrieval.py"].evidence[0].reason == (
        "entry point `python eval_retrieval.py --eval` that evaluates or infers")
    assert [e.reason for e in files["optim/lars.py"].evidence][:2] == ["in a utility folder (optim/lars.py)", "defines an optimizer (LARS)"]
    assert files["models/__init__.py"].evidence[0].reason == "package __init__ that only re-exports"


def test_a_train_script_named_like_a_network_is_a_train_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """detectron2's `tools/train_net.py`: "net" in the name does not make it a model file."""
    from repo_reader.api import build_map

    (tmp_path / "train_net.py").write_text("def setup(cfg):\n    return cfg\n")
    (role,) = [f.role.value for f in build_map(tmp_path, use_cache=False).files]
    assert role == "train"


def test_a_library_readme_names_the_model() -> None:
    """No documented training script (a self-test under `__main__` inside the package): the model the
    README's usage code builds comes first, the outermost one (`Diffusion(model)` wraps the Unet)."""
    assert top_level("readme_library") == [("tinydiff.diffusion.Diffusion", "built by the README's usage code")]


def test_an_export_script_builds_no_top_level_model() -> None:
    """`export_onnx.py` wraps the network for export (`OnnxWrapper(vit_tiny())`): not the network."""
    models = {m.qualname: m for m in analysis_of("roles_real").repo_map.models}
    assert not models["export_onnx.OnnxWrapper"].top_level and models["models.vit.ViT"].top_level


def test_no_flags_are_listed_with_their_option(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`BooleanOptionalAction` adds `--no-amp`; a `store_true`/`store_false` pair on one dest is one
    option; `parser.set_defaults(lr=0.01)` is the default shown."""
    from repo_reader.api import build_map

    (tmp_path / "train.py").write_text(
        "import argparse\n\nimport torch\n\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--amp', action=argparse.BooleanOptionalAction, default=True)\n"
        "parser.add_argument('--flip', dest='flip', action='store_true')\n"
        "parser.add_argument('--no-flip', dest='flip', action='store_false')\n"
        "parser.add_argument('--lr', type=float, default=0.1)\nparser.set_defaults(lr=0.01)\n\n"
        "if __name__ == '__main__':\n    args = parser.parse_args()\n    model = torch.nn.Linear(2, 2)\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n    for _ in range(2):\n"
        "        model(torch.randn(1, 2)).sum().backward()\n        opt.step()\n")
    (entry,) = build_map(tmp_path, use_cache=False).entry_points
    assert [(o.name, o.flags, o.default) for o in entry.options] == [
        ("--amp", ("--amp", "--no-amp"), "True"), ("--flip", ("--flip", "--no-flip"), "False"),
        ("--lr", ("--lr",), "0.01")]  # parser.set_defaults overrides the add_argument default


def test_test_and_detect_scripts_that_can_trace_the_model_are_not_exports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """yolov7-style `detect.py`/`test.py` with a `--trace` flag calling `torch.jit.trace`: inference and
    evaluation runs; `export.py` stays an export."""
    from repo_reader.api import build_map

    body = ("import torch\n\nif __name__ == '__main__':\n    model = torch.nn.Linear(2, 2).eval()\n"
            "    model = torch.jit.trace(model, torch.randn(1, 2))\n    with torch.no_grad():\n"
            "        print(model(torch.randn(1, 2)))\n")
    for name in ("detect.py", "test.py", "export.py"):
        (tmp_path / name).write_text(body)
    kinds = {entry.path: entry.kind.value for entry in build_map(tmp_path, use_cache=False).entry_points}
    assert kinds == {"detect.py": "inference", "test.py": "eval", "export.py": "export"}


def test_a_package_does_not_use_itself_and_a_corner_import_is_named_as_such() -> None:
    repo_map = analysis_of("frameworks_corner").repo_map
    assert repo_map.frameworks == ("PyTorch", "TensorFlow (only in tools/convert_tf_weights.py)")


def test_options_generated_from_dicts() -> None:
    """`add_dict_to_argparser(parser, defaults)` in another file loops over the dict the script builds
    (`dict(...)`, then `.update(model_and_noise_defaults())`, whose own dict takes `noise_defaults()`):
    every key is an option, in the dict's order, a later update keeping the key's place; a computed
    value is shown as its source text. A loop over a dict literal in the script itself works the same."""
    train, sample = analysis_of("dict_options").repo_map.entry_points
    assert [(o.name, o.default, o.type, o.at and (o.at.path, o.at.line, o.at.col)) for o in train.options] == [
        ("--data_dir", '""', "str", ("train.py", 13, 18)),
        ("--lr", "1e-4", "float", ("train.py", 14, 12)),
        ("--batch_size", "1", "int", ("train.py", 15, 20)),
        ("--use_fp16", "False", "bool", ("train.py", 16, 18)),
        ("--log_dir", 'os.path.join("runs", "denoise")', None, ("train.py", 17, 17)),
        ("--image_size", "64", "int", ("denoise/settings.py", 22, 20)),
        ("--channels", "128", "int", ("denoise/settings.py", 23, 18)),
        ("--dropout", "0.1", "float", ("denoise/settings.py", 17, 61)),  # noise_defaults() overrides 0.0
        ("--steps", "1000", "int", ("denoise/settings.py", 17, 22)),
        ("--schedule", '"linear"', "str", ("denoise/settings.py", 17, 40)),
        ("--learn_sigma", "False", "bool", ("denoise/settings.py", 17, 81)),
    ]
    assert [(o.name, o.default, o.type, o.help, o.required) for o in sample.options] == [
        ("--checkpoint", None, None, "weights to load", True),
        ("--num_samples", "4", "int", "sampling setting", False),  # parser.set_defaults(num_samples=4)
        ("--clip_denoised", "True", "bool", "sampling setting", False),
        ("--seed", "None", None, "sampling setting", False),
    ]


def test_options_generated_from_dicts_in_the_printout_and_json() -> None:
    """A bool default is a flag that takes a value (`--use_fp16 False`), not a switch."""
    runner = CliRunner()
    text = runner.invoke(app, ["map", str(FIXTURES / "dict_options"), "--no-cache"], env={"COLUMNS": "200"}).stdout
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index("run: python train.py") + 1
    assert [line.split("  ", 1)[1] for line in lines[start:start + 5]] == [
        '--data_dir = ""', "--lr = 1e-4", "--batch_size = 1", "--use_fp16 True|False = False",
        '--log_dir = os.path.join("runs", "denoise")']
    result = runner.invoke(app, ["map", str(FIXTURES / "dict_options"), "--no-cache", "--format", "json"])
    options = json.loads(result.stdout)["entry_points"][0]["options"]
    assert [(o["name"], o["default"], o["type"]) for o in options][-4:] == [
        ("--dropout", "0.1", "float"), ("--steps", "1000", "int"), ("--schedule", '"linear"', "str"),
        ("--learn_sigma", "False", "bool")]


def test_submodule_types_from_helper_factories() -> None:
    """`conv_nd(dims, ...)` returns `nn.Conv1d/2d/3d` under `if dims == 1/2/3:`; the value comes from a
    literal (`conv_nd(1, ...)`) or the constructor's default (`dims=2`), inside a Sequential too."""
    models = {m.qualname: m for m in analysis_of("factory_types").repo_map.models}
    tree = {name: [(s.name, s.type, s.children) for s in models[name].submodules] for name in models}
    assert tree == {
        "nets.model.Net": [
            ("conv", "torch.nn.Conv2d", ()), ("down", "nets.model.Downsample", ()),
            ("attn", "nets.model.Attention", ()), ("volume", "torch.nn.Conv3d", ()),
            ("head", "torch.nn.Sequential", ("torch.nn.SiLU", "torch.nn.Conv2d"))],
        "nets.model.Downsample": [("op", "torch.nn.AvgPool2d", ())],
        "nets.model.Attention": [("qkv", "torch.nn.Conv1d", ()), ("proj", "torch.nn.Conv1d", ())],
    }


def test_options_from_a_module_level_dict_merged_with_double_stars(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`SETTINGS = {**BASE, "lr": 0.1}` at module level, iterated by its keys (`for k in SETTINGS`);
    a dict the loop cannot follow adds no options."""
    from repo_reader.api import build_map

    (tmp_path / "train.py").write_text(
        "import argparse\n\nimport torch\n\nBASE = dict(epochs=10, lr=1.0)\nSETTINGS = {**BASE, 'lr': 0.1, 'name': 'run'}\n\n"
        "def main(extra):\n    parser = argparse.ArgumentParser()\n    for k in SETTINGS:\n"
        "        parser.add_argument('--' + k, default=SETTINGS[k])\n"
        "    for k, v in extra.items():\n        parser.add_argument(f'--{k}', default=v)\n"
        "    args = parser.parse_args()\n    model = torch.nn.Linear(2, 2)\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=args.lr)\n    model(torch.randn(1, 2)).sum().backward()\n"
        "    opt.step()\n\nif __name__ == '__main__':\n    main(unknown())\n")
    (entry,) = build_map(tmp_path, use_cache=False).entry_points
    assert [(o.name, o.default, o.type, o.line) for o in entry.options] == [
        ("--epochs", "10", "int", 5), ("--lr", "0.1", "float", 6), ("--name", "'run'", "str", 6)]
