"""The reading tour: stops in reading order with exact locations, each on the line it names; the budget."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from helpers import FIXTURES, analysis_of
from rich.console import Console

from repo_reader.model import StopKind, TourStop
from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.render.locations import Locator
from repo_reader.render.tour_markdown import render_tour_markdown
from repo_reader.render.tour_rich import render_tour_rich

ALL_FIXTURES = ["flat_scripts", "package_layout", "lightning_project", "registry_config", "gpt_project", "messy",
                "trace_zoo", "dynamic_faults", "dynamic_clean"]

FLAT_SCRIPTS_TOUR = [
    ("readme", "", "README.md:1:1"),
    ("entry", "train", "train.py:90:1"),
    ("entry", "train.main", "train.py:56:1"),
    ("config", "train.parse_args", "train.py:15:1"),
    ("data", "dataset.SyntheticCIFAR.__init__", "dataset.py:12:5"),
    ("data", "dataset.SyntheticCIFAR.__len__", "dataset.py:18:5"),
    ("data", "dataset.SyntheticCIFAR.__getitem__", "dataset.py:21:5"),
    ("data", "dataset.get_loaders", "dataset.py:25:1"),
    ("model", "model.ResNet.__init__", "model.py:37:5"),
    ("model", "model.ResNet.forward", "model.py:63:5"),
    ("model", "model.BasicBlock.forward", "model.py:30:5"),
    ("optimisation", "train.main", "train.py:64:17"),
    ("training", "train.train_one_epoch", "train.py:28:1"),
    ("evaluation", "train.evaluate", "train.py:44:1"),
    ("helper", "utils.save_checkpoint", "utils.py:38:1"),
    ("helper", "model.conv3x3", "model.py:10:1"),
    ("helper", "utils.AverageMeter.__init__", "utils.py:14:5"),
    ("helper", "utils.AverageMeter.update", "utils.py:23:5"),
    ("helper", "model.BasicBlock.__init__", "model.py:17:5"),
    ("helper", "utils.AverageMeter.reset", "utils.py:17:5"),
]


def triples(stops: tuple[TourStop, ...]) -> list[tuple[str, str, str]]:
    return [(s.kind.value, s.qualname, f"{s.path}:{s.line}:{s.col}") for s in stops]


def test_flat_scripts_tour_in_reading_order() -> None:
    tour = tour_of(analysis_of("flat_scripts"))
    assert triples(tour.stops) == FLAT_SCRIPTS_TOUR
    assert [s.number for s in tour.stops] == list(range(1, 21))
    assert tour.entry == "train" and tour.skipped == () and tour.dropped == 1


def test_stop_details_point_at_the_calls() -> None:
    stops = {s.title: s for s in tour_of(analysis_of("flat_scripts")).stops}
    loop = stops["Training loop: train.train_one_epoch"]
    assert [(d.text, str(d.at)) for d in loop.details] == [
        ("zero_grad()", "train.py:36:9"), ("backward()", "train.py:37:9"), ("step()", "train.py:38:9")]
    optimiser = stops["Loss and optimizer: train.main"]
    assert [(d.text, str(d.at)) for d in optimiser.details] == [
        ("loss: torch.nn.CrossEntropyLoss", "train.py:64:17"), ("optimizer: torch.optim.SGD", "train.py:65:17"),
        ("scheduler: torch.optim.lr_scheduler.CosineAnnealingLR", "train.py:66:17")]
    loaders = stops["DataLoaders: dataset.get_loaders"]
    assert [str(d.at) for d in loaders.details] == ["dataset.py:28:20", "dataset.py:29:19"]
    assert loaders.details[0].text == "DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers=workers)"
    assert stops["Entry function: train.main"].next[:3] == ("train.parse_args", "model.ResNet.__init__",
                                                            "dataset.get_loaders")
    assert stops["What the README says"].details[0].text == "$ python train.py --epochs 10 --lr 0.05"
    options = stops["Options: train.parse_args"]
    assert [(d.text.split(" = ")[0], str(d.at)) for d in options.details] == [
        ("--lr", "train.py:17:5"), ("--batch-size", "train.py:18:5"), ("--epochs", "train.py:19:5"),
        ("--depth", "train.py:20:5"), ("--num-classes", "train.py:21:5"), ("--workers", "train.py:22:5"),
        ("--seed", "train.py:23:5"), ("--resume", "train.py:24:5")]


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_every_option_line_is_clickable_at_its_add_argument(fixture: str) -> None:
    sources = Sources(FIXTURES / fixture)
    for stop in tour_of(analysis_of(fixture), max_stops=100).stops:
        if not stop.title.startswith("Options: "):
            continue
        for detail in stop.details:
            assert detail.at is not None, detail.text
            line = sources.text(detail.at.path).splitlines()[sources.file_line(detail.at.path, detail.at.line) - 1]
            flag = detail.text.split(" = ")[0].split()[0]
            assert line[detail.at.col - 1:].split("(")[0].endswith("add_argument"), (str(detail.at), line)
            assert flag in line or flag.lstrip("-") in line, (flag, line)


def _line_holds(stop: TourStop, line: str) -> bool:
    if stop.kind == StopKind.README:
        return line.startswith("#")
    if stop.path.endswith((".yaml", ".yml")):
        return bool(line.strip())
    if stop.signature.startswith(("def ", "async def ", "class ")):
        name = stop.qualname.rsplit(".", 1)[-1]
        return re.match(rf"\s*(async\s+)?(def|class)\s+{re.escape(name)}\b", line) is not None
    if stop.details and stop.details[0].at is not None:  # a stop at a call site: the line makes that call
        return any(part in line for part in re.split(r"[.():\s]+", stop.details[0].text) if len(part) > 3)
    return stop.kind == StopKind.ENTRY or bool(line.strip())


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_each_location_holds_what_it_names(fixture: str) -> None:
    sources = Sources(FIXTURES / fixture)
    tour = tour_of(analysis_of(fixture))
    assert tour.stops, fixture
    for stop in tour.stops:
        lines = sources.text(stop.path).splitlines()
        line = lines[sources.file_line(stop.path, stop.line) - 1]
        assert _line_holds(stop, line), f"{stop.path}:{stop.line} {stop.title!r} holds {line!r}"
        for detail in stop.details:
            if detail.at is not None and not detail.at.path.endswith(".yaml"):
                site = sources.text(detail.at.path).splitlines()[sources.file_line(detail.at.path, detail.at.line) - 1]
                assert site.strip(), f"{detail.at} is an empty line"


def test_sections_follow_the_reading_order_on_every_fixture() -> None:
    order = list(StopKind)
    for fixture in ALL_FIXTURES:
        kinds = [order.index(s.kind) for s in tour_of(analysis_of(fixture)).stops]
        assert kinds == sorted(kinds), fixture


def test_budget_keeps_readme_entry_then_model_and_loop_first() -> None:
    tour = tour_of(analysis_of("flat_scripts"), max_stops=5)
    assert triples(tour.stops) == [
        ("readme", "", "README.md:1:1"), ("entry", "train", "train.py:90:1"), ("entry", "train.main", "train.py:56:1"),
        ("model", "model.ResNet.__init__", "model.py:37:5"), ("training", "train.train_one_epoch", "train.py:28:1")]
    assert tour.dropped == 16
    # a budget of pinned stops + one per section covers every section once
    kinds = [s.kind.value for s in tour_of(analysis_of("flat_scripts"), max_stops=9).stops]
    assert kinds == ["readme", "entry", "entry", "config", "data", "model", "optimisation", "training", "evaluation"]


def test_centrality_is_seeded_at_the_entry_point() -> None:
    stops = {s.qualname: s for s in tour_of(analysis_of("flat_scripts")).stops if s.kind != StopKind.OPTIMISATION}
    assert stops["train.main"].score > stops["train.train_one_epoch"].score > stops["utils.AverageMeter.reset"].score
    assert stops["dataset.SyntheticCIFAR.__len__"].score == 0.0  # nothing calls len() on it in the graph


def test_missing_sections_are_skipped_not_invented() -> None:
    gpt = tour_of(analysis_of("gpt_project"))
    assert StopKind.DATA in gpt.skipped and not any(s.kind == StopKind.DATA for s in gpt.stops)
    assert StopKind.README in tour_of(analysis_of("dynamic_faults")).skipped
    training = [s for s in gpt.stops if s.kind == StopKind.TRAINING]
    assert [(s.qualname, f"{s.path}:{s.line}:{s.col}", s.signature) for s in training] == [
        ("train", "train.py:140:9", "in module train")]


def test_lightning_and_hydra_tours() -> None:
    lightning = triples(tour_of(analysis_of("lightning_project")).stops)
    assert ("training", "model.LitClassifier.training_step", "model.py:47:5") in lightning
    assert ("optimisation", "model.LitClassifier.configure_optimizers", "model.py:57:21") in lightning
    hydra = triples(tour_of(analysis_of("registry_config")).stops)
    assert hydra[:4] == [("readme", "", "README.md:1:1"), ("entry", "tools.train.main", "tools/train.py:60:1"),
                         ("entry", "tools.train.main", "tools/train.py:27:1"),
                         ("config", "", "configs/train.yaml:1:1")]


def test_notebook_stop_reads_the_cell() -> None:
    sources = Sources(FIXTURES / "messy")
    stop = next(s for s in tour_of(analysis_of("messy")).stops if s.qualname == "exploration.NotebookNet.forward")
    assert f"{stop.path}:{stop.line}:{stop.col}" == "exploration.ipynb#cell3:6:5"
    assert sources.excerpt(stop.path, stop.line, stop.end_line, 1).lines[0].strip().startswith("def forward")


def _render(fixture: str) -> str:
    console = Console(width=100, no_color=True, force_terminal=False, soft_wrap=True, highlight=False)
    with console.capture() as captured:
        render_tour_rich(tour_of(analysis_of(fixture)), console, Locator(FIXTURES / fixture, ""),
                         Sources(FIXTURES / fixture), 4)
    return captured.get()


def test_rich_output_snapshot(snapshot: Callable[[str, str], None]) -> None:
    text = _render("flat_scripts")
    assert "\x1b" not in text
    assert "train.py:64:17  in train.main\n" in text  # a location first on its line, whole
    snapshot("navigate/flat_scripts.tour.txt", text)


def test_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    tour = tour_of(analysis_of("gpt_project"))
    snapshot("navigate/gpt_project.tour.md",
             render_tour_markdown(tour, Locator(FIXTURES / "gpt_project", ""), Sources(FIXTURES / "gpt_project"), 3))


def test_inference_losses_builders_and_syncs_are_no_training_or_evaluation_stops() -> None:
    """llama's `generate` computes a cross-entropy under `@torch.inference_mode()`, CLIP's `build_model`
    returns `model.eval()`, guided-diffusion's `sync_params` copies under `no_grad`: only the training
    loop's loss is a loss stop, and only the functions that run the model without gradients evaluate
    (a wrapper's `@torch.inference_mode()` `generate` too, not the model's own)."""
    tour = tour_of(analysis_of("tour_real"))
    kinds = [(s.kind.value, s.qualname) for s in tour.stops if s.kind in (StopKind.OPTIMISATION, StopKind.EVALUATION)]
    assert kinds == [("optimisation", "train.main"), ("evaluation", "train.evaluate"),
                     ("evaluation", "model.Generator.generate")]
    assert "not recognised in this repository: readme, config, data\n" in _render("tour_real")
