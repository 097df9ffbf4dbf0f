"""Point 5: entry points, their kind, rank, launch command and options with defaults."""

from __future__ import annotations

from helpers import FIXTURES, analysis_of

from repo_reader.model import EntryKind, EntrySource


def entries(name: str):  # type: ignore[no-untyped-def]
    return analysis_of(name).repo_map.entry_points


def test_flat_scripts_train_first_with_argparse_options() -> None:
    first, second = entries("flat_scripts")
    assert (first.path, first.line, first.kind, first.rank) == ("train.py", 90, EntryKind.TRAIN, 1)
    assert first.source == EntrySource.MAIN_GUARD
    assert first.command == "python train.py --epochs 10 --lr 0.05"  # as the README shows it
    options = {o.name: (o.default, o.help) for o in first.options}
    assert options["--lr"] == ("0.1", "initial learning rate")
    assert options["--batch-size"][0] == "128" and options["--depth"][0] == "20"
    assert len(first.options) == 8
    assert (second.path, second.kind, second.rank) == ("test.py", EntryKind.EVAL, 2)
    checkpoint = next(o for o in second.options if o.name == "--checkpoint")
    assert checkpoint.required and checkpoint.default is None


def test_console_scripts_from_pyproject() -> None:
    found = {e.command: e for e in entries("package_layout")}
    train, embed = found["ae-train"], found["ae-embed"]
    assert train.name == "autoenc.cli.train_main" and train.kind == EntryKind.TRAIN and train.rank == 1
    assert (train.path, train.line) == ("src/autoenc/cli.py", 14)
    assert embed.source == EntrySource.CONSOLE_SCRIPT and embed.kind == EntryKind.EVAL
    assert {o.name: o.default for o in train.options}["--latent-dim"] == "16"


def test_lightning_cli_options_come_from_the_model_and_datamodule() -> None:
    (entry,) = entries("lightning_project")
    assert entry.source == EntrySource.LIGHTNING_CLI and entry.kind == EntryKind.TRAIN
    assert entry.command == "python main.py fit --config config.yaml"
    options = {o.name: o.default for o in entry.options}
    assert options["--model.hidden_dim"] == "128" and "--data.batch_size" in options


def test_hydra_entry_points_with_config_and_overrides() -> None:
    train, evaluate = entries("registry_config")
    assert train.source == EntrySource.HYDRA and train.name == "tools.train.main"
    assert train.config_path == "configs/train.yaml" and train.kind == EntryKind.TRAIN
    assert {o.name: o.default for o in train.options}["model"] == "resnet_small"
    assert train.command.startswith("python tools/train.py")
    assert evaluate.kind == EntryKind.EVAL and evaluate.config_path == "configs/eval.yaml"


def test_module_level_script_with_configurator_settings() -> None:
    train, sample = entries("gpt_project")
    assert train.source == EntrySource.MODULE_LEVEL and train.kind == EntryKind.TRAIN and train.rank == 1
    options = {o.name: o.default for o in train.options}
    assert options["--batch_size"] == "8" and options["--max_iters"] == "20"
    assert sample.kind == EntryKind.INFERENCE
    assert {o.name: o.default for o in sample.options}["--temperature"] == "0.8"


def test_messy_entry_points_include_the_training_test_py() -> None:
    found = {e.path: e for e in entries("messy")}
    assert found["test.py"].kind == EntryKind.TRAIN and found["test.py"].rank == 1
    assert "side_effect.py" not in found  # module-level side effects are not a training script


def test_every_option_says_where_it_is_declared() -> None:
    first, _ = entries("flat_scripts")
    assert [(o.name, str(o.at)) for o in first.options[:2]] == [("--lr", "train.py:17:5"), ("--batch-size", "train.py:18:5")]
    (train, _) = entries("registry_config")
    assert str(next(o for o in train.options if o.name == "model").at) == "configs/train.yaml:2:5"
    (lightning,) = entries("lightning_project")
    hidden = next(o for o in lightning.options if o.name == "--model.hidden_dim")
    assert hidden.at is not None and hidden.at.path == "model.py"  # the LightningModule's __init__
    gpt, _ = entries("gpt_project")
    assert str(next(o for o in gpt.options if o.name == "--batch_size").at).startswith("train.py:")
    for fixture in ("flat_scripts", "package_layout", "lightning_project", "registry_config", "gpt_project", "messy"):
        root = FIXTURES / fixture
        for entry in entries(fixture):
            for option in entry.options:
                assert option.at is not None, (fixture, entry.name, option.name)
                if option.at.path.endswith((".py", ".yaml")):
                    line = (root / option.at.path).read_text().splitlines()[option.at.line - 1]
                    word = option.name.lstrip("-").split(".")[-1]
                    assert word in line or word.replace("-", "_") in line or "def " in line, (option.at, line)
