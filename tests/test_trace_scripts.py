"""A model defined in a script that trains at module level is traced without running the script."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import FIXTURES

from repo_reader.model import TraceStatus
from repo_reader.trace.api import TraceOptions, trace_repository
from repo_reader.trace.loading import does_work_at_module_level


def test_module_level_training_script_is_not_run() -> None:
    trace = trace_repository(FIXTURES / "trace_zoo", TraceOptions(models=("script_model.ScriptNet",), timeout=60))
    (model,) = trace.models
    assert model.status is TraceStatus.OK  # the endless `while True:` loop at line 30 would time out
    assert any("statements at lines 30 were not" in note for note in model.construction.notes)
    root = model.modules[0]
    assert root.outputs is not None and root.outputs.shape == (4, 3)  # the script builds a 4x12 batch


def test_which_modules_count_as_scripts() -> None:
    script = ast.parse((FIXTURES / "trace_zoo" / "script_model.py").read_text())
    library = ast.parse((FIXTURES / "trace_zoo" / "small_cnn.py").read_text())
    assert does_work_at_module_level(script) and not does_work_at_module_level(library)
    assert not does_work_at_module_level(ast.parse("import torch\nx = 1\nif __name__ == '__main__':\n    main()\n"))
    assert does_work_at_module_level(ast.parse("main()\n"))


def _package_with_heavy_init(root: Path, model_imports: str = "") -> None:
    package = root / "vision"
    (package / "ops").mkdir(parents=True)
    (package / "__init__.py").write_text("from .viz import show\nfrom .consts import WIDTH\nfrom .net import Net\n")
    (package / "consts.py").write_text("WIDTH = 8\n")
    (package / "viz.py").write_text("import not_installed_plotting_lib\n\n\ndef show(x):\n    return x\n")
    (package / "ops" / "__init__.py").write_text("import not_installed_plotting_lib\n")
    (package / "ops" / "blocks.py").write_text(
        "from torch import nn\n\n\nclass Block(nn.Sequential):\n"
        "    def __init__(self, width=8):\n        super().__init__(nn.Linear(width, width), nn.ReLU())\n")
    (package / "net.py").write_text(
        f"{model_imports}from torch import nn\n\nfrom vision import WIDTH\nfrom .ops.blocks import Block\n\n\n"
        "class Net(nn.Module):\n    def __init__(self, width=WIDTH):\n        super().__init__()\n        self.block = Block(width)\n"
        "        self.head = nn.Linear(width, 2)\n\n    def forward(self, x):\n        return self.head(self.block(x))\n")


def test_a_package_init_that_needs_a_missing_package_is_bypassed(tmp_path: Path) -> None:
    _package_with_heavy_init(tmp_path)
    (model,) = trace_repository(tmp_path, TraceOptions(models=("vision.net.Net",), timeout=60)).models
    assert model.status is TraceStatus.OK, model.failure
    assert model.modules[0].outputs is not None and model.modules[0].outputs.shape == (2, 2)
    note = next(note for note in model.construction.notes if "not_installed_plotting_lib" in note)
    # the statements that failed were skipped; the rest of each __init__ ran (`WIDTH` is re-exported)
    assert note.endswith("vision.net was loaded with the package __init__ statements that need it skipped "
                         "(vision/__init__.py:1, vision/__init__.py:3, vision/ops/__init__.py:1)")


def test_a_model_file_that_needs_the_missing_package_still_says_so(tmp_path: Path) -> None:
    _package_with_heavy_init(tmp_path, model_imports="import not_installed_plotting_lib\n")
    (model,) = trace_repository(tmp_path, TraceOptions(models=("vision.net.Net",), timeout=60)).models
    assert model.status is TraceStatus.MISSING_PACKAGE and model.failure is not None
    assert "`not_installed_plotting_lib` is not installed; imported by vision/net.py:1" in model.failure.message


def test_a_module_with_module_level_calls_loads_in_its_package_order(tmp_path: Path) -> None:
    """timm's shape: `vision_transformer.py` makes a bare call at module level and imports the package
    absolutely (`from timm.data import ...`), while a sibling imports `Block` from it. Loaded before
    its package, it would meet itself half-built; loaded through its package, it is whole."""
    package = tmp_path / "zoo"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("from .models import *\n")
    (package / "data.py").write_text("MEAN = (0.5, 0.5, 0.5)\n")
    (package / "models" / "__init__.py").write_text("from .vit import *\nfrom .hybrid import *\n")
    (package / "models" / "hybrid.py").write_text("from .vit import Block\n\n__all__ = []\n")
    (package / "models" / "vit.py").write_text(
        "from torch import nn\n\nfrom zoo.data import MEAN\n\nprint('registering')\n\n__all__ = ['ViT']\n\n\n"
        "class Block(nn.Linear):\n    pass\n\n\nclass ViT(nn.Module):\n    def __init__(self, dim=8):\n"
        "        super().__init__()\n        self.block = Block(dim, dim)\n\n    def forward(self, x):\n        return self.block(x)\n")
    trace = trace_repository(tmp_path, TraceOptions(models=("zoo.models.vit.ViT",), use_cache=False, jobs=1))
    (model,) = trace.models
    assert (model.status, model.total_params) == (TraceStatus.OK, 72)
