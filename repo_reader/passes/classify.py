"""File roles: dataloader, model, train, eval, utils, config, test or other, from name *and* syntax.

Each clue adds weighted evidence to a role; syntax clues outweigh name clues, so a `test.py` that
trains is a train file, and the evidence says why. The file's own name outweighs its folder's
(`models/yolo/train.py` is named like a train file). Entry points refine the result afterwards: what
a script reaches decides (`refine_with_entries`), so `main_pretrain.py`, whose loop lives in
`engine.py`, is a train file.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace

from repo_reader.index.classes import ClassIndex, ClassInfo
from repo_reader.model import CallEdge, EntryKind, EntryPoint, Evidence, FileInfo, Role, line_text
from repo_reader.scan.facts import ModuleFacts

# The file's own name (weight 30), checked first; in this order, so `train_net.py` is a train file.
FILE_RULES: tuple[tuple[Role, re.Pattern[str], str], ...] = (
    (Role.TEST, re.compile(r"^(test_\w*|\w*_test|conftest)\.py$"), "test file name"),
    (Role.OTHER, re.compile(r"^(export\w*|\w*onnx\w*|convert\w*|setup|__setup__|hubconf|download\w*)\.py$"),
     "export/conversion/packaging script name"),
    (Role.TRAIN, re.compile(r"^(train\w*|trainer|engine\w*|finetune\w*|pretrain\w*|main(_\w+)?)\.py$"), "training script name"),
    (Role.EVAL, re.compile(r"^(test|eval\w*|validat\w*|val|infer\w*|predict\w*|sample\w*|demo\w*|generate\w*|"
                           r"benchmark\w*|example\w*|detect\w*)\.py$"), "evaluation/inference script name"),
    (Role.UTILS, re.compile(r"^(utils?|tools|helpers?|misc|common|logger|logging|metrics?|visuali[sz]\w*|\w*_utils?|"
                            r"\w*tokeni[sz]er\w*|bpe|vocab\w*|\w*loss(es)?|(\w*_)?ema|(model_)?checkpoint(s|ing)?)\.py$"), "utility name"),
    (Role.DATALOADER, re.compile(r"^(data|datasets?|dataloaders?|loaders?|\w*dataset\w*|\w*data_?loader\w*|\w*_data|"
                                 r"\w*transforms?\w*|\w*augment\w*|\w*mixup\w*)\.py$"), "data file name"),
    (Role.CONFIG, re.compile(r"^(configs?|settings|options|opts|args|arguments|hparams|configurator|defaults|"
                             r"\w*_config|config_\w+|global_settings)\.py$"), "configuration name"),
    (Role.MODEL, re.compile(r"^(models?|networks?|nets?|archs?|backbones?|modules|layers|\w*model\w*|\w*network\w*|"
                            r"\w*_net|\w*arch|\w*backbone\w*|\w*layers|resnet\d*|vgg\d*|vit\w*|unet\w*|gpt\d*|bert|"
                            r"\w*transformer\w*|mlp|cnn|lstm|\w*encoder\w*|\w*decoder\w*|\w*attention\w*)\.py$"),
     "model file name"),
)
# The folders it sits in (weight 20), innermost first, when its own name says nothing.
FOLDER_RULES: tuple[tuple[Role, re.Pattern[str], str], ...] = (
    (Role.TEST, re.compile(r"^tests?$"), "in a test folder"),
    (Role.DATALOADER, re.compile(r"^(data|datasets?|dataloaders?|loaders?)$"), "in a data folder"),
    (Role.MODEL, re.compile(r"^(models?|networks?|nets?|archs?|backbones?|modules|layers|modeling)$"), "in a model folder"),
    (Role.TRAIN, re.compile(r"^trainers?$"), "in a training folder"),
    (Role.UTILS, re.compile(r"^(utils?|tools|helpers?|misc|common|loss(es)?|optim)$"), "in a utility folder"),
    (Role.CONFIG, re.compile(r"^(configs?|settings)$"), "in a configuration folder"),
)
FILE_WEIGHT = 30
FOLDER_WEIGHT = 20
# `f1` as a word (`f1_score`, `compute_f1`), not inside `bf16`
METRIC = re.compile(r"accuracy|acc|(?<![a-z0-9])f1(?!\d)|precision|recall|bleu|metric|psnr|ssim|auc|perplexity|iou|map",
                    re.IGNORECASE)
LOSS_NAME = re.compile(r"(Loss|Criterion|CrossEntropy)\w*$")
EXPORT_CALLS = ("torch.onnx.export", "torch.export.export")  # torch.jit.trace also patches loaded models (CLIP)
LAUNCHED_FUNCTIONS = ("main", "train", "run")
TEST_PATH = re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")


@dataclass(slots=True)
class _Scores:
    points: dict[Role, int] = field(default_factory=lambda: defaultdict(int))
    evidence: dict[Role, list[Evidence]] = field(default_factory=lambda: defaultdict(list))

    def add(self, role: Role, weight: int, reason: str) -> None:
        self.points[role] += weight
        self.evidence[role].append(Evidence(reason, weight))


def classify_file(facts: ModuleFacts, edges: list[CallEdge], classes: ClassIndex,
                  returns: dict[str, str] | None = None) -> FileInfo:
    """One file's role; `classes` gives the file's own classes through `ClassIndex.in_module`, `returns`
    the class each function returns (`TypeIndex.returns`)."""
    if facts.is_package and not facts.definitions:
        what = "only re-exports" if facts.imports else "is empty"
        what = what if not facts.calls else "sets up its package, with no definitions"
        return FileInfo(facts.path, facts.module, Role.OTHER, 90, (Evidence(f"package __init__ that {what}", 60),),
                        facts.lines, bool(facts.cell_starts))
    scores = _Scores()
    name_role = _score_name(facts.path, scores)
    _score_syntax(facts, edges, classes, scores, named_utils=_file_rule(facts.path.rsplit("/", 1)[-1]) is Role.UTILS)
    _score_builders(facts, classes, returns or {}, scores)
    _score_helpers(facts, scores)
    if not scores.points:
        if facts.definitions and facts.main_guard is None:
            return FileInfo(facts.path, facts.module, Role.UTILS, 40,
                            (Evidence(f"defines {len(facts.definitions)} function(s)/class(es) for other files to use, "
                                      "with no role-specific name or syntax", 10),), facts.lines, bool(facts.cell_starts))
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


def refine_with_entries(files: dict[str, FileInfo], entries: tuple[EntryPoint, ...],
                        edges_by_path: dict[str, list[CallEdge]]) -> dict[str, FileInfo]:
    """A script's role is what it does when run: an entry point that reaches a training loop is a train
    file (its loop may live in `engine.py`), one that evaluates or infers is an eval file. The entry
    decides over a weak role (other, config, utils), or over any role its own name agrees with. A
    file that calls a training entry point's function (a cluster launcher) is a train file too."""
    refined = dict(files)
    training = {entry.name: entry for entry in entries if entry.kind == EntryKind.TRAIN}
    for path, info in files.items():
        if info.role not in (Role.OTHER, Role.CONFIG, Role.UTILS):
            continue
        launch = next((edge for edge in edges_by_path.get(path, ()) if _launches(edge.callee, training, path)), None)
        if launch is not None:
            evidence = (Evidence(f"launches {launch.callee} ({line_text(launch.path, launch.line)}), a training entry point", 60), *info.evidence)
            refined[path] = replace(info, role=Role.TRAIN, confidence=max(info.confidence, 70), evidence=evidence)
    for entry in sorted(entries, key=lambda e: -e.rank):  # the best-ranked entry of a file decides
        role = {EntryKind.TRAIN: Role.TRAIN, EntryKind.EVAL: Role.EVAL, EntryKind.INFERENCE: Role.EVAL}.get(entry.kind)
        path = entry.path.split("#", 1)[0]
        info = refined.get(path)
        if role is None or info is None or info.role in (role, Role.TEST):
            continue
        named = _file_rule(path.rsplit("/", 1)[-1])
        if info.role in (Role.OTHER, Role.CONFIG, Role.UTILS) or named == role:
            reason = f"entry point `{entry.command}` that {'trains' if role == Role.TRAIN else 'evaluates or infers'}"
            evidence = (Evidence(reason, 70), *info.evidence)
            refined[path] = replace(info, role=role, confidence=max(info.confidence, 80), evidence=evidence)
    return refined


def _launches(callee: str, training: dict[str, EntryPoint], path: str) -> bool:
    """`main_pretrain.main(args)`, `main_dino.train_dino(args)`: the entry, or its script's main/train function."""
    module, _, function = callee.rpartition(".")
    entry = training.get(callee) or (training.get(module) if function.startswith(LAUNCHED_FUNCTIONS) else None)
    return entry is not None and entry.path != path


def _file_rule(name: str) -> Role | None:
    return next((role for role, pattern, _ in FILE_RULES if pattern.search(name)), None)


def _score_name(path: str, scores: _Scores) -> Role | None:
    *folders, name = path.split("/")
    for role, pattern, reason in FILE_RULES:
        if pattern.search(name):  # export code wraps models for export: its name outweighs its nn.Modules
            scores.add(role, 50 if role == Role.OTHER else FILE_WEIGHT, f"{reason} ({path})")
            return role
    for folder in reversed(folders):
        for role, pattern, reason in FOLDER_RULES:
            if pattern.search(folder):
                scores.add(role, FOLDER_WEIGHT, f"{reason} ({path})")
                return role
    return None


def _score_syntax(facts: ModuleFacts, edges: list[CallEdge], classes: ClassIndex, scores: _Scores, *,
                  named_utils: bool = False) -> None:
    own = classes.in_module(facts.module)
    losses = [info for info in own if info.framework and LOSS_NAME.search(info.definition.qualname)]
    # an nn.Module that defines neither forward nor __call__ (here or in a repo base) holds modules (an
    # EMA of a model's weights): no network
    models = [info for info in own if info.framework and info not in losses and (
        info.framework != "torch" or classes.find_method(info.qualname, "forward")
        or classes.find_method(info.qualname, "__call__"))]
    _score_classes(own, models, losses, classes, scores)
    datasets = [info for info in own if info.is_dataset or info.is_datamodule]
    if datasets:
        scores.add(Role.DATALOADER, 55, f"defines a Dataset/DataModule ({datasets[0].definition.qualname}, {facts.line_text(datasets[0].definition.line)})")
    callees = {edge.callee for edge in edges}
    loaders = [edge for edge in edges if edge.callee.endswith("data.DataLoader") or edge.callee.endswith("dataloader.DataLoader")]
    backward = [call for call in facts.calls if call.callee.endswith(".backward")]
    trains = _score_training(facts, edges, backward, models, scores)
    if loaders and not backward:
        scores.add(Role.DATALOADER, 25, f"builds a DataLoader ({line_text(loaders[0].path, loaders[0].line)})")
    # `copy.deepcopy(model).eval()` freezes a copy (an EMA, a teacher): no evaluation
    evaluates = [call for call in facts.calls if call.callee.endswith(".eval") and not call.refs
                 and "()" not in call.callee]
    no_grad = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"} & callees
    if (evaluates or no_grad) and not trains:
        metrics = any(METRIC.search(callee.rsplit(".", 1)[-1]) for callee in callees)
        looped = facts.module_loops > 0 or any(call.in_loop for call in facts.calls)
        weight = (35 if evaluates and looped else 15) + (15 if evaluates and no_grad else 0) + (10 if metrics else 0)
        if named_utils and not metrics:  # a helper library that sets eval mode (fusing, an EMA copy) evaluates nothing
            weight //= 2
        scores.add(Role.EVAL, weight, "evaluation: " + ", ".join(
            part for part, present in (("model.eval()", evaluates), ("no_grad", no_grad), ("metrics", metrics)) if present))
    tests = [d for d in facts.definitions if d.qualname.rsplit(".", 1)[-1].startswith("test") and
             (d.kind == "function" or d.qualname.startswith("Test"))]  # a Trainer's test() method is no test
    test_framework = {"pytest", "unittest"} & {fact.target.split(".")[0] for fact in facts.imports}
    if tests and (test_framework or TEST_PATH.search(facts.path) or len(tests) >= 3):
        scores.add(Role.TEST, 60, f"{len(tests)} test function(s) ({tests[0].qualname})")
    _score_config(facts, callees, scores)
    if any(callee in EXPORT_CALLS for callee in callees):
        scores.add(Role.OTHER, 40, "exports a model (ONNX/TorchScript/torch.export)")


def _score_builders(facts: ModuleFacts, classes: ClassIndex, returns: dict[str, str], scores: _Scores) -> None:
    """`def build_sam_vit_h(...)` returning a Sam, `def build_model(cfg)` returning `MODELS.build(cfg)`."""
    builders = []
    for definition in facts.definitions:
        if definition.kind != "function" or "." in definition.qualname or definition.qualname.startswith("_"):
            continue
        built = returns.get(f"{facts.module}.{definition.qualname}", "")
        info = classes.classes.get(built)
        if built.startswith("<registry>") or (info is not None and info.framework and not info.module == facts.module):
            builders.append(definition.qualname)
    if builders:
        scores.add(Role.MODEL, 25, f"builds models ({', '.join(builders[:3])})")


def _score_helpers(facts: ModuleFacts, scores: _Scores) -> None:
    """Functions and no other clue but a folder's name (`models/_builder.py`): a helper file."""
    functions = [d for d in facts.definitions if d.kind == "function" and "." not in d.qualname]
    only_folder = all(e.reason.startswith("in a ") for evidence in scores.evidence.values() for e in evidence)
    only_folder = only_folder and Role.DATALOADER not in scores.points  # data/ helpers are the data pipeline
    if functions and only_folder and facts.main_guard is None:
        scores.add(Role.UTILS, 25, f"defines {len(functions)} helper function(s) and no nn.Module ({functions[0].qualname})")


def _score_classes(own: list[ClassInfo], models: list[ClassInfo], losses: list[ClassInfo], classes: ClassIndex,
                   scores: _Scores) -> None:
    """nn.Modules make a model file, except losses; optimizers make a utility file."""
    if models:
        lightning = [info for info in models if info.framework == "lightning"]
        scores.add(Role.MODEL, 40 + 5 * min(len(models), 4),
                   f"defines {len(models)} nn.Module class(es): {', '.join(i.definition.qualname for i in models[:3])}")
        if lightning:
            scores.add(Role.MODEL, 10, f"defines a LightningModule ({lightning[0].definition.qualname})")
    if losses:
        scores.add(Role.UTILS, 45, f"defines loss module(s): {', '.join(i.definition.qualname for i in losses[:3])}")
    optimizers = [info for info in own if classes.derives_from(info.qualname, "torch.optim.")]
    if optimizers:
        scores.add(Role.UTILS, 50, f"defines an optimizer ({optimizers[0].definition.qualname})")


def _score_training(facts: ModuleFacts, edges: list[CallEdge], backward: list, models: list[ClassInfo],  # type: ignore[type-arg]
                    scores: _Scores) -> bool:
    """A training loop: backward() and step() in a loop (or in a function this file calls in a loop);
    or zero_grad() in a loop whose backward lives in a helper (`loss_scaler(loss, optimizer)`)."""
    steps = [call for call in facts.calls if call.callee.endswith(".step") and "sched" not in call.callee]
    zero_grads = [call for call in facts.calls if call.callee.endswith(".zero_grad") and call.in_loop]
    fits = [edge for edge in edges if edge.callee.endswith((".fit", "LightningCLI")) and edge.resolved]
    looped_scopes = {call.callee.rsplit(".", 1)[-1] for call in facts.calls if call.in_loop}
    in_loop = any(call.in_loop or call.scope.rsplit(".", 1)[-1] in looped_scopes for call in (*backward, *steps))
    if backward and steps and in_loop:
        where = facts.line_text(backward[0].line)
        if len(models) >= 3 and all("." in call.scope for call in backward):  # a library file with a Trainer class
            scores.add(Role.TRAIN, 40, f"a trainer class beside {len(models)} models: backward() at {where}")
        else:
            scores.add(Role.TRAIN, 65, f"training loop: backward() at {where} and step()")
        return True
    if zero_grads:
        scores.add(Role.TRAIN, 50, f"training loop: zero_grad() in a loop at {facts.line_text(zero_grads[0].line)}")
        return True
    if fits:
        scores.add(Role.TRAIN, 60, f"launches training ({fits[0].callee.rsplit('.', 1)[-1]} at {line_text(fits[0].path, fits[0].line)})")
        return True
    if backward and steps:
        scores.add(Role.UTILS, 20, "calls backward() and step() outside any loop (a training helper)")
    return False


CONFIG_CLASS_NAME = re.compile(r"(Config|Configuration|Cfg|Args|Arguments|Params|Parameters|Settings|Options|Opts|"
                               r"H[Pp]arams|Hyperparameters)$|^(Config|Hyper)")


def _score_config(facts: ModuleFacts, callees: set[str], scores: _Scores) -> None:
    parsers = "argparse.ArgumentParser" in callees
    loaders = {"yaml.safe_load", "yaml.load", "omegaconf.OmegaConf.load", "json.load"} & callees
    # a dataclass is a config when it is named like one (`GPTConfig`, `ModelArgs`), not a result record
    dataclasses = [d for d in facts.definitions if d.kind == "class" and any("dataclass" in x for x in d.decorators)
                   and CONFIG_CLASS_NAME.search(d.qualname.rsplit(".", 1)[-1])]
    functions = [d for d in facts.definitions if d.kind != "class"]
    if dataclasses:
        scores.add(Role.CONFIG, 20 + 10 * min(len(dataclasses), 3), f"config dataclass(es): {dataclasses[0].qualname}")
    if parsers and len(facts.options) >= 3 and len(functions) <= 3 and facts.main_guard is None:
        scores.add(Role.CONFIG, 30, f"argparse parser with {len(facts.options)} options")
    if loaders and (dataclasses or parsers):  # reading a JSON file alone says nothing about the file's role
        scores.add(Role.CONFIG, 15, f"loads configuration ({sorted(loaders)[0]})")
    if not functions and any("globals()" in call.refs for call in facts.calls):
        scores.add(Role.CONFIG, 40, "overrides a script's settings through globals()")
    imported = {fact.local for fact in facts.imports}
    settings = [name for name in facts.globals if not name.startswith("_") and name not in imported]
    if not facts.definitions and facts.main_guard is None and facts.module_loops == 0 and len(settings) >= 3 \
            and not facts.is_package and not parsers:  # a script that parses its own arguments is not a settings file
        scores.add(Role.CONFIG, 40, f"only sets module-level values ({', '.join(settings[:3])}, ...)")
