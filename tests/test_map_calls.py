"""Point 7: the call graph: qualified names, constructors, nn.Module calls to forward, self methods,
typed variables, unresolved calls kept, and the chains from entry points."""

from __future__ import annotations

from helpers import analysis_of, edge_set


def edges_of(name: str, caller: str):  # type: ignore[no-untyped-def]
    return [e for e in analysis_of(name).repo_map.edges if e.caller == caller]


def test_calling_a_module_instance_reaches_forward() -> None:
    edges = {(e.callee, e.kind) for e in edges_of("flat_scripts", "train.train_one_epoch")}
    # `model` is a parameter: its class comes from the call site in main().
    assert ("model.ResNet.forward", "module-call") in edges
    assert ("torch.nn.Module.train", "call") in edges


def test_construction_goes_to_init_and_library_calls_keep_their_import_path() -> None:
    edges = {(e.callee, e.kind, e.line) for e in edges_of("flat_scripts", "train.main")}
    assert ("model.ResNet.__init__", "construct", 61) in edges
    assert ("torch.optim.SGD", "call", 65) in edges
    assert ("torch.optim.lr_scheduler.CosineAnnealingLR", "call", 66) in edges


def test_self_calls_and_submodule_calls() -> None:
    edges = edge_set("gpt_project")
    assert ("model.Block.forward", "model.CausalSelfAttention.forward") in edges  # self.attn(...)
    assert ("model.Block.forward", "model.LayerNorm.forward") in edges  # self.ln_1(...)
    assert ("model.GPT.forward", "model.Block.forward") in edges  # for block in self.transformer.h
    assert ("model.GPT.generate", "model.GPT.forward") in edges  # self(idx)
    assert ("model.CausalSelfAttention.forward", "torch.nn.functional.scaled_dot_product_attention") in edges


def test_super_init_resolves_to_the_library_base() -> None:
    callees = {e.callee for e in edges_of("gpt_project", "model.GPT.__init__")}
    assert "torch.nn.Module.__init__" in callees


def test_unresolved_calls_are_kept_and_counted() -> None:
    unresolved = [e for e in analysis_of("flat_scripts").repo_map.edges if not e.resolved]
    assert unresolved, "some calls (methods of untyped objects) cannot be resolved"
    assert all(e.callee and e.path and e.line > 0 for e in unresolved)
    assert any(e.callee == "loss.backward" for e in unresolved)


def test_dataloader_reaches_dataset_getitem_and_lightning_reaches_training_step() -> None:
    assert ("dataset.get_loaders", "dataset.SyntheticCIFAR.__getitem__") in edge_set("flat_scripts")
    lightning = edge_set("lightning_project")
    assert ("main.cli_main", "model.LitClassifier.training_step") in lightning
    assert ("model.LitClassifier._shared_step", "model.LitClassifier.forward") in lightning


def test_chains_from_the_main_entry_to_forward_and_getitem() -> None:
    chains = {c.target: c.calls for c in analysis_of("flat_scripts").repo_map.chains if c.entry == "train"}
    assert chains["model.ResNet.forward"] == ("train", "train.main", "train.train_one_epoch", "model.ResNet.forward")
    assert chains["dataset.SyntheticCIFAR.__getitem__"] == (
        "train", "train.main", "dataset.get_loaders", "dataset.SyntheticCIFAR.__getitem__")


def test_chains_through_a_registry_and_a_console_script() -> None:
    registry = {c.target: c.calls for c in analysis_of("registry_config").repo_map.chains if c.entry == "tools.train.main"}
    assert registry["seg.models.vit_tiny.ViTTiny.forward"] == ("tools.train.main", "seg.models.vit_tiny.ViTTiny.forward")
    assert registry["seg.data.noise.NoiseDataset.__getitem__"][-2] == "seg.data.builder.build_dataset"
    package = {c.target: c.calls for c in analysis_of("package_layout").repo_map.chains
               if c.entry == "autoenc.cli.train_main"}
    assert package["autoenc.models.autoencoder.AutoEncoder.forward"] == (
        "autoenc.cli.train_main", "autoenc.engine.trainer.Trainer.fit", "autoenc.models.autoencoder.AutoEncoder.forward")


def test_module_level_script_chain() -> None:
    chains = {c.target: c.calls for c in analysis_of("gpt_project").repo_map.chains if c.entry == "train"}
    assert chains["model.GPT.forward"][0] == "train" and chains["model.GPT.forward"][-1] == "model.GPT.forward"


def test_a_module_used_as_a_table_of_model_factories(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`models.__dict__[args.arch](...)` (mae, dino): every public factory may be called."""
    from repo_reader.api import build_map

    (tmp_path / "vits.py").write_text(
        "import torch.nn as nn\n\nclass ViT(nn.Module):\n    def forward(self, x):\n        return x\n\n"
        "def vit_small(**kwargs):\n    return ViT(**kwargs)\n\ndef vit_base(**kwargs):\n    return ViT(**kwargs)\n")
    (tmp_path / "train.py").write_text(
        "import vits\n\ndef main(arch):\n    model = vits.__dict__[arch](depth=2)\n    model(1)\n\n"
        "if __name__ == '__main__':\n    main('vit_small')\n")
    repo_map = build_map(tmp_path, use_cache=False)
    edges = {(e.caller, e.callee) for e in repo_map.edges}
    assert {("train.main", "vits.vit_small"), ("train.main", "vits.vit_base"), ("train.main", "vits.ViT.forward")} <= edges
    (vit,) = repo_map.models
    assert vit.top_level and vit.top_level_reason == "constructed by an entry point"  # through the factories
