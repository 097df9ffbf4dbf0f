"""File roles: dataloader, model, train, eval, utils, config, test or other, from name *and* syntax.

Each clue adds weighted evidence to a role; syntax clues outweigh name clues, so a `test.py` that
trains is a train file, and the evidence says why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from repo_reader.index.classes import ClassIndex
from repo_reader.model import CallEdge, Evidence, FileInfo, Role
from repo_reader.scan.facts import ModuleFacts

NAME_RULES: tuple[tuple[Role, re.Pattern[str], str], ...] = (
    (Role.TEST, re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)"), "test file name"),
    (Role.DATALOADER, re.compile(r"(^|/)(data|datasets?|dataloaders?|loaders?)(/|\.py$)|[^/]*(dataset|dataloader|data_?loader|_data|transforms?|augment\w*)\.py$"), "data file name"),
    (Role.MODEL, re.compile(r"(^|/)(models?|networks?|nets?|archs?|backbones?|modules|layers)(/|\.py$)|[^/]*(model|network|_net|arch|backbone|layers|resnet\d*|vgg\d*|vit|unet|gpt\d*|bert|transformer|mlp|cnn|lstm|encoder|decoder|attention)[^/]*\.py$"), "model file name"),
    (Role.TRAIN, re.compile(r"(^|/)(train[^/]*|trainer|engine[^/]*|finetune[^/]*|pretrain[^/]*|main)\.py$|(^|/)engine/"), "training script name"),
    (Role.EVAL, re.compile(r"(^|/)(test|eval[^/]*|validat[^/]*|infer[^/]*|predict[^/]*|sample[^/]*|demo[^/]*|generate[^/]*|benchmark[^/]*)\.py$"), "evaluation/inference script name"),
    (Role.UTILS, re.compile(r"(^|/)(utils?|tools|helpers?|misc|common|logger|logging|metrics?|visuali[sz]\w*)(/|\.py$)|[^/]*_utils?\.py$"), "utility name"),
    (Role.CONFIG, re.compile(r"(^|/)(configs?|settings|options|opts|args|arguments|hparams|configurator|defaults)(/|\.py$)|[^/]*_config\.py$"), "configuration name"),
)
NAME_WEIGHT = 30
METRIC = re.compile(r"accuracy|acc|f1|precision|recall|bleu|metric|psnr|ssim|auc|perplexity|iou|map", re.IGNORECASE)
TEST_NAME = NAME_RULES[0][1]


@dataclass(slots=True)
class _Scores:
    points: dict[Role, int] = field(default_factory=lambda: defaultdict(int))
    evidence: dict[Role, list[Evidence]] = field(default_factory=lambda: defaultdict(list))

    def add(self, role: Role, weight: int, reason: str) -> None:
        self.points[role] += weight
        self.evidence[role].append(Evidence(reason, weight))


def classify_file(facts: ModuleFacts, edges: list[CallEdge], classes: ClassIndex) -> FileInfo:
    """One file's role; `classes` gives the file's own classes through `ClassIndex.in_module`."""
    scores = _Scores()
    _score_name(facts.path, scores)
    _score_syntax(facts, edges, classes, scores)
    name_role = next((role for role, pattern, _ in NAME_RULES if pattern.search(facts.path)), None)
    if not scores.points:
        return FileInfo(facts.path, facts.module, Role.OTHER, 30, (Evidence("no role-specific name or syntax", 0),),
                        facts.lines, bool(facts.cell_starts))
    ranked = sorted(scores.points.items(), key=lambda item: (-item[1], list(Role).index(item[0])))
    role, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    evidence = list(scores.evidence[role])
    if name_role is not None and name_role != role:
        evidence.append(Evidence(f"named like a {name_role.value} file, but its syntax says {role.value}", 0))
    confidence = max(20, min(99, 40 + best - runner_up // 2))
    return FileInfo(facts.path, facts.module, role, confidence, tuple(evidence), facts.lines, bool(facts.cell_starts))


def _score_name(path: str, scores: _Scores) -> None:
    for role, pattern, reason in NAME_RULES:
        if pattern.search(path):
            scores.add(role, NAME_WEIGHT, f"{reason} ({path})")
            return


def _score_syntax(facts: ModuleFacts, edges: list[CallEdge], classes: ClassIndex, scores: _Scores) -> None:
    own = classes.in_module(facts.module)
    models = [info for info in own if info.framework]
    if models:
        lightning = [info for info in models if info.framework == "lightning"]
        scores.add(Role.MODEL, 40 + 5 * min(len(models), 4),
                   f"defines {len(models)} nn.Module class(es): {', '.join(i.definition.qualname for i in models[:3])}")
        if lightning:
            scores.add(Role.MODEL, 10, f"defines a LightningModule ({lightning[0].definition.qualname})")
    datasets = [info for info in own if info.is_dataset or info.is_datamodule]
    if datasets:
        scores.add(Role.DATALOADER, 55, f"defines a Dataset/DataModule ({datasets[0].definition.qualname}, line {datasets[0].definition.line})")
    callees = {edge.callee for edge in edges}
    loaders = [edge for edge in edges if edge.callee.endswith("data.DataLoader") or edge.callee.endswith("dataloader.DataLoader")]
    backward = [call for call in facts.calls if call.callee.endswith(".backward")]
    steps = [call for call in facts.calls if call.callee.endswith(".step") and "sched" not in call.callee]
    fits = [edge for edge in edges if edge.callee.endswith((".fit", "LightningCLI")) and edge.resolved]
    if backward and steps:
        where = facts.where(backward[0].line)[1]
        scores.add(Role.TRAIN, 65, f"training loop: backward() at line {where} and step()")
    elif fits:
        scores.add(Role.TRAIN, 60, f"launches training ({fits[0].callee.rsplit('.', 1)[-1]} at line {fits[0].line})")
    if loaders and not backward:
        scores.add(Role.DATALOADER, 25, f"builds a DataLoader (line {loaders[0].line})")
    evaluates = [call for call in facts.calls if call.callee.endswith(".eval") and not call.refs]
    no_grad = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"} & callees
    if (evaluates or no_grad) and not backward:
        metrics = any(METRIC.search(callee.rsplit(".", 1)[-1]) for callee in callees)
        weight = 35 + (15 if evaluates and no_grad else 0) + (10 if metrics else 0)
        scores.add(Role.EVAL, weight, "evaluation: " + ", ".join(
            part for part, present in (("model.eval()", evaluates), ("no_grad", no_grad), ("metrics", metrics)) if present))
    tests = [d for d in facts.definitions if d.qualname.rsplit(".", 1)[-1].startswith("test") and d.kind != "class"]
    test_framework = {"pytest", "unittest"} & {fact.target.split(".")[0] for fact in facts.imports}
    if tests and (test_framework or TEST_NAME.search(facts.path) or len(tests) >= 3):
        scores.add(Role.TEST, 60, f"{len(tests)} test function(s) ({tests[0].qualname})")
    _score_config(facts, callees, scores)


def _score_config(facts: ModuleFacts, callees: set[str], scores: _Scores) -> None:
    parsers = "argparse.ArgumentParser" in callees
    loaders = {"yaml.safe_load", "yaml.load", "omegaconf.OmegaConf.load", "json.load"} & callees
    dataclasses = [d for d in facts.definitions if d.kind == "class" and any("dataclass" in x for x in d.decorators)]
    functions = [d for d in facts.definitions if d.kind != "class"]
    if dataclasses:
        scores.add(Role.CONFIG, 20 + 10 * min(len(dataclasses), 3), f"config dataclass(es): {dataclasses[0].qualname}")
    if parsers and len(facts.options) >= 3 and len(functions) <= 3:
        scores.add(Role.CONFIG, 30, f"argparse parser with {len(facts.options)} options")
    if loaders:
        scores.add(Role.CONFIG, 15, f"loads configuration ({sorted(loaders)[0]})")
    if not functions and any("globals()" in call.refs for call in facts.calls):
        scores.add(Role.CONFIG, 40, "overrides a script's settings through globals()")
