"""Models built from YAML configs: a yolov5-style layer list read by `parse_model`, and the classes an
OmegaConf `target:` or a Hydra `_target_` names (construction sites at the YAML line)."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import FIXTURES, analysis_of
from typer.testing import CliRunner

from repo_reader.api import build_map
from repo_reader.cli import app
from repo_reader.model import ConfigLayer, ConstructionSite, Location, ModelInfo, RepoMap, Role

COMMON = "models/common.py"


def layer(index: int, section: str, source: str, repeats: str, module: str, args: str, line: int,
          defined: int | None) -> ConfigLayer:
    qualname = f"models.common.{module}" if defined else f"torch.{module}"
    return ConfigLayer(index, section, source, repeats, module, qualname, args, line, 4,
                       Location(COMMON, defined, 1) if defined else None)


YOLOV5S_LAYERS = (
    layer(0, "backbone", "-1", "1", "Conv", "[64, 6, 2, 2]", 8, 7),
    layer(1, "backbone", "-1", "1", "Conv", "[128, 3, 2]", 9, 7),
    layer(2, "backbone", "-1", "3", "C3", "[128]", 10, 18),
    layer(3, "backbone", "-1", "1", "SPPF", "[256, 5]", 11, 29),
    layer(4, "head", "-1", "1", "nn.Upsample", "[None, 2, 'nearest']", 15, None),
    layer(5, "head", "[-1, 2]", "1", "Concat", "[1]", 16, 39),
    layer(6, "head", "-1", "3", "C3", "[256]", 17, 18),
    layer(7, "head", "[5, 6]", "1", "Detect", "[nc]", 18, 48),
)


def model_of(repo_map: RepoMap, qualname: str) -> ModelInfo:
    return next(model for model in repo_map.models if model.qualname == qualname)


def printed(stdout: str) -> list[str]:
    """The printout's lines, stripped, each location relative to the fixtures folder."""
    text = stdout.replace("\\", "/").replace(FIXTURES.as_posix() + "/", "").replace("fixtures/", "")
    return [line.strip() for line in text.splitlines()]


def copied(tmp_path: Path, fixture: str) -> Path:
    target = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, target)
    return target


def test_the_yaml_layer_list_is_the_model_tree() -> None:
    repo_map = analysis_of("yaml_layers").repo_map
    model = model_of(repo_map, "models.yolo.Model")
    assert model.layers == YOLOV5S_LAYERS
    assert model.layers_from == Location("models/yolov5s.yaml", 6, 1)  # its `backbone:` key
    assert model.layers_builder == "models.yolo.parse_model"
    assert model.contains == tuple(f"models.common.{name}" for name in ("C3", "Concat", "Conv", "Detect", "SPPF"))
    assert [m.qualname for m in repo_map.ranked_top_level()] == ["models.yolo.Model"]
    config = next(info for info in repo_map.files if info.path == "models/yolov5s.yaml")
    assert (config.role, config.confidence, config.lines) == (Role.CONFIG, 95, 19)
    assert config.evidence[-1].reason == "lists the layers of Model (read by parse_model)"


def test_the_printout_shows_each_row_where_it_is_written() -> None:
    result = CliRunner().invoke(app, ["map", str(FIXTURES / "yaml_layers"), "--no-cache"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = printed(result.stdout)
    start = lines.index("yaml_layers/models/yolov5s.yaml:6:1  layers from models/yolov5s.yaml (built by parse_model)")
    assert lines[start + 1] == "yaml_layers/models/yolov5s.yaml:8:4  0: Conv x1 [64, 6, 2, 2] from -1  " \
                               "yaml_layers/models/common.py:7:1"
    assert lines[start + 5] == "yaml_layers/models/yolov5s.yaml:15:4  4: Upsample x1 [None, 2, 'nearest'] from -1"
    assert lines[start + 8] == "yaml_layers/models/yolov5s.yaml:18:4  7: Detect x1 [nc] from [5, 6]  " \
                               "yaml_layers/models/common.py:48:1"
    assert not any("built inside" in line for line in lines)  # the rows are the layers, listed once


def test_without_a_construction_site_the_constructor_default_names_the_yaml(tmp_path: Path) -> None:
    repo = copied(tmp_path, "yaml_layers")
    (repo / "train.py").unlink()
    model = model_of(build_map(repo, use_cache=False), "models.yolo.Model")
    assert model.constructed_at == () and model.layers == YOLOV5S_LAYERS  # `cfg="yolov5s.yaml"`, beside yolo.py


def test_a_literal_at_the_construction_site_wins_over_the_default(tmp_path: Path) -> None:
    repo = copied(tmp_path, "yaml_layers")
    (repo / "configs").mkdir()
    (repo / "configs" / "tiny.yaml").write_text("nc: 2\nlayers:\n  - [-1, 1, Conv, [8, 3]]\n  - [-1, 2, C3, [8]]\n")
    train = repo / "train.py"
    train.write_text(train.read_text().replace("Model(opt.cfg, ch=3", 'Model(cfg="configs/tiny.yaml", ch=3'))
    model = model_of(build_map(repo, use_cache=False), "models.yolo.Model")
    assert model.layers_from == Location("configs/tiny.yaml", 2, 1)
    assert [(m.index, m.section, m.type, m.repeats, m.args, m.line, m.col) for m in model.layers] == [
        (0, "layers", "models.common.Conv", "1", "[8, 3]", 3, 5), (1, "layers", "models.common.C3", "2", "[8]", 4, 5)]


def test_a_yaml_in_a_folder_the_code_joins_is_found_by_its_name(tmp_path: Path) -> None:
    repo = copied(tmp_path, "yaml_layers")
    (repo / "train.py").unlink()
    (repo / "models" / "cfg").mkdir()
    (repo / "models" / "yolov5s.yaml").rename(repo / "models" / "cfg" / "yolov5s.yaml")
    model = model_of(build_map(repo, use_cache=False), "models.yolo.Model")
    assert model.layers_from == Location("models/cfg/yolov5s.yaml", 6, 1) and len(model.layers) == 8


def test_big_yaml_files_and_ones_outside_the_repository_are_not_read(tmp_path: Path) -> None:
    repo = copied(tmp_path, "yaml_layers")
    (repo / "train.py").unlink()
    config = repo / "models" / "yolov5s.yaml"
    text = config.read_text()
    config.write_text(text + "# padding\n" * 8000)  # over the 64 KiB a model config may take
    assert model_of(build_map(repo, use_cache=False), "models.yolo.Model").layers == ()
    outside = tmp_path / "outside.yaml"
    outside.write_text(text)
    config.unlink()
    config.symlink_to(outside)
    repo_map = build_map(repo, use_cache=False)
    assert model_of(repo_map, "models.yolo.Model").layers == ()
    assert "models/yolov5s.yaml" not in {info.path for info in repo_map.files}


def test_config_targets_are_construction_sites_of_the_entry_that_loads_them() -> None:
    repo_map = analysis_of("config_targets").repo_map
    net, decoder = model_of(repo_map, "pkg.models.Net"), model_of(repo_map, "pkg.models.Decoder")
    assert net.constructed_at == (ConstructionSite("configs/net.yaml", 2, 3, "main", ("dim=64", "depth=2")),)
    assert decoder.constructed_at == (
        ConstructionSite("conf/model/decoder.yaml", 1, 1, "train_hydra.main", ("width=32", "layers=[1, 2]")),)
    assert [(m.qualname, m.top_level_reason) for m in repo_map.ranked_top_level()] == [
        ("pkg.models.Net", "constructed by the first-ranked entry point"),
        ("pkg.models.Decoder", "constructed by a training entry point")]
    roles = {info.path: (info.role, info.evidence[-1].reason) for info in repo_map.files if info.path.endswith(".yaml")}
    assert roles == {"configs/net.yaml": (Role.CONFIG, "names Net to build, with its arguments"),
                     "conf/model/decoder.yaml": (Role.CONFIG, "names Decoder to build, with its arguments")}


def test_the_printout_shows_the_yaml_site_with_its_params() -> None:
    result = CliRunner().invoke(app, ["map", str(FIXTURES / "config_targets"), "--no-cache"], env={"COLUMNS": "200"})
    lines = printed(result.stdout)
    assert "built at config_targets/configs/net.yaml:2:3  Net(dim=64, depth=2)" in lines
    assert "built at config_targets/conf/model/decoder.yaml:1:1  Decoder(width=32, layers=[1, 2])" in lines


def test_a_config_no_entry_point_loads_ranks_nothing(tmp_path: Path) -> None:
    repo = copied(tmp_path, "config_targets")
    (repo / "main.py").unlink()
    (repo / "train_hydra.py").unlink()
    (repo / "configs" / "other.yml").write_text("unet:\n  _target_: pkg.models.Block\n  dim: 8\n")
    repo_map = build_map(repo, use_cache=False)
    net = model_of(repo_map, "pkg.models.Net")
    assert net.constructed_at == (ConstructionSite("configs/net.yaml", 2, 3, "configs/net.yaml", ("dim=64", "depth=2")),)
    assert net.top_level_reason == "contained by no other model"  # a site, but no entry point builds it
    block = model_of(repo_map, "pkg.models.Block")
    assert block.constructed_at[-1] == ConstructionSite("configs/other.yml", 2, 3, "configs/other.yml", ("dim=8",))
    assert not block.top_level


def test_targets_that_name_nothing_in_the_repository_are_not_sites(tmp_path: Path) -> None:
    repo = copied(tmp_path, "config_targets")
    (repo / "configs" / "net.yaml").write_text("model:\n  target: torch.nn.Linear\n  params: {in_features: 2}\n"
                                              "device:\n  target: cuda\n")
    repo_map = build_map(repo, use_cache=False)
    assert model_of(repo_map, "pkg.models.Net").constructed_at == ()
    assert "configs/net.yaml" not in {info.path for info in repo_map.files}


def test_a_helper_the_constructor_hands_itself_to_reaches_the_builder() -> None:
    tiny = model_of(analysis_of("yaml_layers").repo_map, "models.yolo.TinyModel")
    assert (tiny.layers_from, tiny.layers_builder) == (Location("models/yolov5n.yaml", 4, 1), "models.yolo.parse_model")
    assert [(m.index, m.section, m.source, m.type, m.line, m.col) for m in tiny.layers] == [
        (0, "backbone", "-1", "models.common.Conv", 5, 5), (1, "backbone", "-1", "models.common.SPPF", 6, 5),
        (2, "head", "[0, 1]", "models.common.Concat", 8, 5)]
