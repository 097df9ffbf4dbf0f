"""What the parent reads from the repository before any child runs: inputs the repo builds in its
tests and `__main__` smoke tests, classmethod factories (`from_pretrained`), and constructor
arguments from the YAML section a registry builds from. Fast: no child process, no torch."""

from __future__ import annotations

from pathlib import Path

from repo_reader.trace.api import load_map
from repo_reader.trace.request import ExampleInput, InputSpec
from repo_reader.trace.targets import RequestSettings, build_request, select_models
from repo_reader.trace.usage import find_example_inputs, find_factory_site

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _examples(root: Path, model: str) -> tuple[ExampleInput, ...]:
    repo_map = load_map(root, use_cache=False)
    return find_example_inputs(root.resolve(), repo_map, select_models(repo_map, (model,))[0])


def test_inputs_built_in_the_repos_tests() -> None:
    examples = _examples(FIXTURES / "package_layout", "AutoEncoder")
    # tests/test_models.py: `x = torch.rand(4, 1, 32, 32); out = model(x)` (model: a pytest fixture),
    # then `model(torch.rand(2, 1, 32, 32))` inline.
    assert [(e.inputs, e.evidence) for e in examples] == [
        ((InputSpec(None, (4, 1, 32, 32)),), "as built in tests/test_models.py:15 (tests)"),
        ((InputSpec(None, (2, 1, 32, 32)),), "as built in tests/test_models.py:21 (tests)"),
    ]


def test_input_from_a_main_smoke_test() -> None:
    examples = _examples(FIXTURES / "trace_zoo", "smoke_main.SmokeTestedNet")
    assert [(e.inputs, e.evidence) for e in examples] == [
        ((InputSpec(None, (2, 3, 48, 48)),), "as built in smoke_main.py:28 (`__main__` smoke test)"),
    ]


SPELLINGS = '''\
import torch as T
from torch import randint
from models import Net


def check(device):
    net = Net(4).eval().to(device)
    ids = randint(0, 100, (2, 16)).to(device)
    net(ids, mask=T.ones(2, 16, dtype=T.long))
    size = len(device)
    net(T.randn(2, size))  # a size not known statically: skipped
    other = object()
    other(T.randn(3, 3))  # not the model: skipped


def test_forward(model: Net):
    model.forward(T.zeros((1, 7)).float())


WIDTH = 5


def sizes_by_name():
    B, T_ = 3, 4
    Net()(T.rand(B, T_, WIDTH))
'''


def test_spellings_of_tensors_and_model_instances(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n")
    (tmp_path / "check.py").write_text(SPELLINGS)
    examples = _examples(tmp_path, "models.Net")
    assert [(e.inputs, e.evidence.split(" (")[0]) for e in examples] == [
        ((InputSpec(None, (2, 16), "int64", 100), InputSpec("mask", (2, 16), "int64")), "as built in check.py:9"),
        ((InputSpec(None, (1, 7)),), "as built in check.py:17"),
        ((InputSpec(None, (3, 4, 5)),), "as built in check.py:25"),
    ]


def test_from_pretrained_is_the_construction_site() -> None:
    root = (FIXTURES / "trace_zoo").resolve()
    repo_map = load_map(root, use_cache=False)
    model = select_models(repo_map, ("pretrained.PretrainedClassifier",))[0]
    factory = find_factory_site(root, repo_map, model)
    assert factory is not None and factory.method == "from_pretrained" and factory.parameters == ("name",)
    assert (factory.site.path, factory.site.line) == ("pretrained_demo.py", 11)
    request = build_request(model, repo_map, root, (), RequestSettings())
    assert request.factory == "from_pretrained"
    assert [(a.name, a.value) for a in request.args] == [("name", '"classifier-base"'), ("num_classes", "3")]
    assert "pretrained_demo.py:11 with PretrainedClassifier.from_pretrained(...)" in request.method


def test_registry_model_takes_its_yaml_section() -> None:
    root = (FIXTURES / "registry_config").resolve()
    repo_map = load_map(root, use_cache=False)
    resnet, vit = (build_request(model, repo_map, root, (), RequestSettings())
                   for model in select_models(repo_map, ("ResNetSmall", "ViTTiny")))
    # tools/train.py loads configs/train.yaml, whose Hydra defaults pick `model: resnet_small`
    assert {a.name: a.value for a in resnet.args} == {"num_classes": "10", "widths": "[16, 32, 64]", "blocks_per_stage": "1"}
    assert {a.source for a in resnet.args} == {"configs/model/resnet_small.yaml, the `model` default of configs/train.yaml"}
    assert "registry key 'resnet_small'" in resnet.method and "tools/train.py" in resnet.method
    assert {a.name: a.value for a in vit.args}["mlp_ratio"] == "2.0" and len(vit.args) == 7
    assert "not the default" in vit.args[0].source and vit.args[0].source.startswith("configs/model/vit_tiny.yaml")
    overridden = build_request(select_models(repo_map, ("ResNetSmall",))[0], repo_map, root, ("num_classes=3",), RequestSettings())
    assert {a.name: (a.value, a.source) for a in overridden.args}["num_classes"] == ("3", "--init")


def test_factory_with_unknown_arguments_falls_back_to_the_constructor(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(
        "import torch\n\n\nclass Net(torch.nn.Module):\n    @classmethod\n    def from_config(cls, cfg):\n"
        "        return cls()\n")
    (tmp_path / "run.py").write_text("from net import Net\n\n\ndef main(cfg):\n    return Net.from_config(cfg)\n")
    repo_map = load_map(tmp_path, use_cache=False)
    request = build_request(select_models(repo_map, ("net.Net",))[0], repo_map, tmp_path, (), RequestSettings())
    assert request.factory == "" and request.args == ()
    assert request.notes == ("run.py:5 builds the model with `from_config(cfg)`, whose arguments are not known "
                             "statically: the constructor's defaults are used",)
