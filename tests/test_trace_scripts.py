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
