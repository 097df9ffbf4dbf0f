"""Point 3: modules, src/ layouts, relative/aliased/star imports, re-exports, and base classes."""

from __future__ import annotations

from helpers import analysis_of


def test_src_layout_module_names() -> None:
    modules = {f.path: f.module for f in analysis_of("package_layout").repo_map.files}
    assert modules["src/autoenc/cli.py"] == "autoenc.cli"
    assert modules["src/autoenc/models/__init__.py"] == "autoenc.models"


def test_relative_and_reexported_names_resolve_to_their_definition() -> None:
    symbols = analysis_of("package_layout").symbols
    # `from .models import AutoEncoder` in cli.py goes through models/__init__.py's re-export.
    assert symbols.resolve("autoenc.cli", "AutoEncoder").qualname == "autoenc.models.autoencoder.AutoEncoder"
    # `from .data import *` in the package __init__ exposes ShapesDataset (listed in __all__).
    assert symbols.resolve("autoenc", "ShapesDataset").qualname == "autoenc.data.ShapesDataset"
    # `from .. import data` in engine/trainer.py, then `data.ShapesDataset`.
    assert symbols.resolve("autoenc.engine.trainer", "data.ShapesDataset").qualname == "autoenc.data.ShapesDataset"


def test_library_names_resolve_through_aliases() -> None:
    symbols = analysis_of("flat_scripts").symbols
    assert symbols.resolve("model", "nn.Conv2d").qualname == "torch.nn.Conv2d"
    assert symbols.resolve("train", "len").qualname == "<builtin>.len"
    unresolved = symbols.resolve("train", "no_such_name")
    assert not unresolved.resolved and unresolved.qualname == "no_such_name"


def test_bases_resolve_through_aliases_and_repo_classes() -> None:
    classes = analysis_of("lightning_project").classes
    lit = classes.classes["model.LitClassifier"]
    assert lit.bases == ("lightning.pytorch.LightningModule",) and lit.framework == "lightning"
    assert classes.classes["model.MLP"].framework == "torch"
    assert classes.classes["datamodule.RandomDigits"].is_dataset
    assert classes.classes["datamodule.MNISTLikeDataModule"].is_datamodule


def test_indirect_subclasses_are_models() -> None:
    classes = analysis_of("gpt_project").classes
    # LayerNorm(nn.Module) is a model; a class deriving from a repo model is one too.
    assert classes.classes["model.LayerNorm"].framework == "torch"
    assert {info.qualname for info in classes.models()} >= {"model.GPT", "model.Block", "model.MLP"}


def test_library_model_bases_from_timm_and_transformers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from repo_reader.api import analyse

    (tmp_path / "models_vit.py").write_text(
        "import timm.models.vision_transformer\nfrom transformers import BertPreTrainedModel\n"
        "from timm.data import Mixup\n\n"
        "class ViT(timm.models.vision_transformer.VisionTransformer):\n    pass\n\n"
        "class Bert(BertPreTrainedModel):\n    pass\n\n"
        "class NotAModel(Mixup):\n    pass\n")
    classes = analyse(tmp_path, use_cache=False).classes.classes
    assert classes["models_vit.ViT"].framework == "timm"
    assert classes["models_vit.Bert"].framework == "transformers"
    assert classes["models_vit.NotAModel"].framework is None
