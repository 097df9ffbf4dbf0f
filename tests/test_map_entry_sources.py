"""Point 5, the rarer entry-point sources: __main__.py, fire, click, typer, setup.py/setup.cfg console
scripts, and launch commands in Makefiles and shell scripts (accelerate, deepspeed, python -m)."""

from __future__ import annotations

from pathlib import Path

from repo_reader.api import build_map
from repo_reader.model import EntryKind, EntrySource


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


TRAIN_BODY = "    for x in range(3):\n        loss = model(x)\n        loss.backward()\n        opt.step()\n"


def test_dunder_main_and_python_dash_m(tmp_path: Path) -> None:
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/__main__.py": "from .run import main\nmain()\n",
        "pkg/run.py": "def main():\n    model = None\n    opt = None\n" + TRAIN_BODY,
        "README.md": "Run it:\n\n    python -m pkg --epochs 3\n",
    })
    (entry,) = build_map(tmp_path, use_cache=False).entry_points
    assert entry.source == EntrySource.DUNDER_MAIN and entry.path == "pkg/__main__.py"
    assert entry.command == "python -m pkg --epochs 3" and entry.kind == EntryKind.TRAIN


def test_fire_click_and_typer(tmp_path: Path) -> None:
    write(tmp_path, {
        "fire_main.py": "import fire\n\ndef train(lr: float = 0.1, epochs=3):\n    pass\n\n"
                        "if __name__ == '__main__':\n    fire.Fire(train)\n",
        "click_main.py": "import click\n\n@click.command()\n@click.option('--lr', default=0.01, help='learning rate')\n"
                         "def main(lr):\n    pass\n\nif __name__ == '__main__':\n    main()\n",
        "typer_main.py": "import typer\napp = typer.Typer()\n\n@app.command()\n"
                         "def predict(checkpoint: str = typer.Option('model.pt', help='weights')):\n    pass\n",
    })
    found = {e.path: e for e in build_map(tmp_path, use_cache=False).entry_points}
    fire_entry = found["fire_main.py"]
    assert fire_entry.source == EntrySource.FIRE
    assert [(o.name, o.default, o.type) for o in fire_entry.options] == [("--lr", "0.1", "float"), ("--epochs", "3", None)]
    click_entry = found["click_main.py"]
    assert click_entry.source == EntrySource.CLICK
    assert [(o.name, o.default, o.help) for o in click_entry.options] == [("--lr", "0.01", "learning rate")]
    typer_entry = found["typer_main.py"]
    assert typer_entry.source == EntrySource.TYPER and typer_entry.kind == EntryKind.INFERENCE
    assert [(o.name, o.default, o.help) for o in typer_entry.options] == [("--checkpoint", "'model.pt'", "weights")]


def test_setup_py_and_setup_cfg_console_scripts(tmp_path: Path) -> None:
    write(tmp_path, {
        "setup.py": "from setuptools import setup\nsetup(name='x', entry_points={'console_scripts': "
                    "['x-train = xpkg.cli:train']})\n",
        "setup.cfg": "[options.entry_points]\nconsole_scripts =\n    x-eval = xpkg.cli:evaluate\n",
        "xpkg/__init__.py": "",
        "xpkg/cli.py": "def train():\n    model = None\n    opt = None\n" + TRAIN_BODY + "\n\ndef evaluate():\n    pass\n",
    })
    found = {e.command: e for e in build_map(tmp_path, use_cache=False).entry_points}
    assert found["x-train"].name == "xpkg.cli.train" and found["x-train"].kind == EntryKind.TRAIN
    assert found["x-eval"].name == "xpkg.cli.evaluate" and found["x-eval"].source == EntrySource.CONSOLE_SCRIPT


def test_launch_commands_in_makefiles_and_shell_scripts(tmp_path: Path) -> None:
    write(tmp_path, {
        "Makefile": "train:\n\taccelerate launch --num_processes 2 scripts/finetune.py --lr 3e-4\n",
        "run.sh": "deepspeed --num_gpus 8 pretrain.py \\\n  --deepspeed ds.json\n",
        "scripts/finetune.py": "if __name__ == '__main__':\n    pass\n",
        "pretrain.py": "if __name__ == '__main__':\n    pass\n",
    })
    found = {e.path: e for e in build_map(tmp_path, use_cache=False).entry_points}
    assert found["scripts/finetune.py"].command == "accelerate launch --num_processes 2 scripts/finetune.py --lr 3e-4"
    assert found["pretrain.py"].command == "deepspeed --num_gpus 8 pretrain.py --deepspeed ds.json"
