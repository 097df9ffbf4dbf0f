"""Point 6: models, their submodules, composition, top-level choice and construction sites."""

from __future__ import annotations

from helpers import analysis_of


def models(name: str):  # type: ignore[no-untyped-def]
    return {m.qualname: m for m in analysis_of(name).repo_map.models}


def test_flat_resnet_is_top_level_with_its_construction_site() -> None:
    found = models("flat_scripts")
    resnet = found["model.ResNet"]
    assert resnet.top_level and resnet.top_level_reason == "trained by the first-ranked entry point (its parameters go to SGD at train.py:65)"
    assert not found["model.BasicBlock"].top_level and resnet.contains == ("model.BasicBlock",)
    sites = {(s.path, s.line): s.args for s in resnet.constructed_at}
    assert sites[("train.py", 61)] == ("depth=args.depth", "num_classes=args.num_classes")
    subs = {s.name: (s.type, s.line) for s in resnet.submodules}
    assert subs["conv1"] == ("torch.nn.Conv2d", 42)  # through the conv3x3 helper's return
    assert subs["fc"] == ("torch.nn.Linear", 57) and subs["stages"][0] == "torch.nn.Sequential"
    assert resnet.forward is not None and resnet.forward.line == 63


def test_composition_through_relative_imports() -> None:
    found = models("package_layout")
    auto = found["autoenc.models.autoencoder.AutoEncoder"]
    assert auto.top_level
    assert auto.contains == ("autoenc.models.decoder.Decoder", "autoenc.models.encoder.Encoder")
    encoder = found["autoenc.models.encoder.Encoder"]
    features = next(s for s in encoder.submodules if s.name == "features")
    assert features.container == "Sequential" and "torch.nn.Conv2d" in features.children


def test_gpt_module_dict_and_module_list() -> None:
    gpt = models("gpt_project")["model.GPT"]
    transformer = next(s for s in gpt.submodules if s.name == "transformer")
    assert transformer.container == "ModuleDict" and "torch.nn.Embedding" in transformer.children
    assert "model.Block" in gpt.contains and gpt.top_level
    assert any(site.path == "train.py" and site.line == 77 for site in gpt.constructed_at)


def test_registry_built_models_are_top_level() -> None:
    found = models("registry_config")
    vit = found["seg.models.vit_tiny.ViTTiny"]
    assert vit.top_level and found["seg.models.resnet_small.ResNetSmall"].top_level
    assert any("<registry MODELS['vit_tiny']>" in site.args for site in vit.constructed_at)
    blocks = next(s for s in vit.submodules if s.name == "blocks")
    assert blocks.container == "ModuleList" and blocks.children == ("seg.models.vit_tiny.TransformerBlock",)


def test_lightning_module_handed_to_lightning_cli() -> None:
    lit = models("lightning_project")["model.LitClassifier"]
    assert lit.top_level and lit.framework == "lightning"
    assert lit.constructed_at[0].args == ("<built by LightningCLI>",)


def test_plain_list_of_layers_is_seen_as_a_submodule() -> None:
    found = models("trace_zoo")
    plain = found["plain_list.PlainListMLP"]
    layers = next(s for s in plain.submodules if s.name == "layers")
    assert layers.container == "list" and layers.children == ("torch.nn.Linear",)
