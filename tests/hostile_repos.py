"""Hostile mini-repos, built at test time (FIFOs, links, undecodable names and deep code cannot live in
git): each case says which warning every static command must give on it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SECRET = "TOP-SECRET-OUTSIDE-THE-REPO"
OK_PY = "import torch\n\n\ndef main():\n    return 1\n\n\nif __name__ == '__main__':\n    main()\n"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, Path], None]  # (repo, a folder outside it)
    warnings: tuple[tuple[str, str], ...] = ()  # (path as shown, message) every command must give
    analysed: tuple[str, ...] = ()  # files that must be mapped, not skipped
    not_in: tuple[str, ...] = ()  # commands that do not read the file (check reads no TOML)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _deep(expression: str) -> Callable[[Path, Path], None]:
    return lambda repo, outside: _write(repo / "deep.py", f"x = {expression}\n")


def _elif_chain(repo: Path, outside: Path) -> None:
    branches = "".join(f"elif x == {i}:\n    y = f({i})\n" for i in range(1, 500))
    _write(repo / "deep.py", f"x = 0\nif x == 0:\n    y = f(0)\n{branches}")


def _fifo(name: str) -> Callable[[Path, Path], None]:
    return lambda repo, outside: os.mkfifo(repo / name)


def _socket_file(repo: Path, outside: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(os.fsencode(repo / "s.py"))  # stays on disk after the close


def _link(name: str, target: Callable[[Path, Path], str]) -> Callable[[Path, Path], None]:
    return lambda repo, outside: os.symlink(target(repo, outside), repo / name)


def _outside_package(repo: Path, outside: Path) -> None:
    _write(outside / "pkg" / "evil.py", "import torch\n\n\nclass EvilOutside(torch.nn.Module):\n    pass\n")
    os.symlink(outside / "pkg", repo / "lib")


def _outside_readme(repo: Path, outside: Path) -> None:
    _write(outside / "id_rsa", f"{SECRET}\n")
    os.symlink(outside / "id_rsa", repo / "README.md")


def _link_loop(repo: Path, outside: Path) -> None:
    os.symlink("b.py", repo / "a.py")
    os.symlink("a.py", repo / "b.py")


def _fifo_behind_link(repo: Path, outside: Path) -> None:
    os.mkfifo(repo / "pipe")
    os.symlink("pipe", repo / "link.py")


def _bad_gitignore(repo: Path, outside: Path) -> None:
    _write(repo / ".gitignore", "[z-a]\n[!]\n[\\]\n*a*a*a*a*a*a*a*a*a*a*b\n" + "**/" * 30 + "x\n")
    _write(repo / ("a" * 43 + ".py"), "def f():\n    return 1\n")


def _raw_name(name: bytes, text: bytes = b"def f():\n    return 1\n") -> Callable[[Path, Path], None]:
    def build(repo: Path, outside: Path) -> None:
        path = os.path.join(os.fsencode(repo), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(text)
    return build


def _ansi_readme(repo: Path, outside: Path) -> None:
    _write(repo / "README.md", "# Title \x1b[2J\x1b]0;pwned\x07\n\nText \x1b[31mred \u202eevil\n\n```\npython ok.py\n```\n")


ESCAPING_SCRIPT = ('"""Train \\x1b]0;pwned\\x07 a model."""\nimport argparse\n\n\ndef main():\n'
                   '    parser = argparse.ArgumentParser()\n'
                   '    parser.add_argument("--lr", help="\\x1b[2Jlearning rate\\u202e \\x1b]8;;http://x\\x07link")\n'
                   '    parser.parse_args()\n\n\nif __name__ == "__main__":\n    main()\n')


def _escaping_source(repo: Path, outside: Path) -> None:
    """Escapes spelled in string literals: they reach the map's option help as the characters themselves."""
    _write(repo / "train.py", ESCAPING_SCRIPT)
    _write(repo / "nb.ipynb", json.dumps({"cells": [{"cell_type": "markdown", "source": "# \x1b]0;pwned\x07"},
                                                    {"cell_type": "code", "source": "x = '\x1b[2J'\n"}]}))


def _notebook(content: str) -> Callable[[Path, Path], None]:
    return lambda repo, outside: _write(repo / "nb.ipynb", content)


def _pyproject(content: str) -> Callable[[Path, Path], None]:
    return lambda repo, outside: _write(repo / "pyproject.toml", content)


def deep_folders(depth: int) -> Callable[[Path, Path], None]:
    """`a/a/.../a/m.py`, made one folder at a time (past PATH_MAX no single path reaches the bottom)."""
    def build(repo: Path, outside: Path) -> None:
        folder = os.open(repo, os.O_RDONLY)
        try:
            for _ in range(depth):
                os.mkdir("a", dir_fd=folder)
                below = os.open("a", os.O_RDONLY, dir_fd=folder)
                os.close(folder)
                folder = below
            with open(os.open("m.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder), "w") as handle:
                handle.write("def f():\n    return 1\n")
        finally:
            os.close(folder)
    return build


def remove_deep_folders(repo: Path) -> None:
    """Remove what `deep_folders` made, bottom up without recursion: shutil.rmtree (and so pytest's
    clean-up of old temporary folders) recurses once per level and fails past ~1,000."""
    folders = [os.open(repo, os.O_RDONLY)]
    try:
        while True:
            with os.scandir(folders[-1]) as entries:
                names = {entry.name: entry.is_dir(follow_symlinks=False) for entry in entries}
            for name in [name for name, is_dir in names.items() if not is_dir]:
                os.unlink(name, dir_fd=folders[-1])
            if "a" not in names:
                break
            folders.append(os.open("a", os.O_RDONLY, dir_fd=folders[-1]))
        while len(folders) > 1:
            os.close(folders.pop())
            os.rmdir("a", dir_fd=folders[-1])
    finally:
        for folder in folders:
            os.close(folder)


def _huge(repo: Path, outside: Path) -> None:
    _write(repo / "table.py", "x = [\n" + "    1,\n" * 300_000 + "]\n")


CONTROL = "the name holds control characters (a newline, an escape); skipped"
CASES = [
    Case("elif-500", _elif_chain, analysed=("deep.py",)),
    Case("plus-1000", _deep(" + ".join(["1"] * 1000)), analysed=("deep.py",)),
    Case("attribute-2000", _deep("a" + ".b" * 2000), analysed=("deep.py",)),
    Case("call-2000", _deep("f" + "()" * 2000), analysed=("deep.py",)),
    Case("not-2000", _deep("not " * 2000 + "a"), analysed=("deep.py",)),
    Case("ifexp-2000", _deep("a if b else " * 2000 + "c"), analysed=("deep.py",)),
    Case("lambda-2000", _deep("lambda: " * 2000 + "0"), analysed=("deep.py",)),
    Case("minus-5000", _deep("-" * 5000 + "a"), (("deep.py", "nested too deeply to parse; skipped"),)),
    Case("fifo-py", _fifo("x.py"), (("x.py", "a FIFO, not a regular file; skipped"),)),
    Case("fifo-readme", _fifo("README.md"), (("README.md", "a FIFO, not a regular file; skipped"),)),
    Case("fifo-gitignore", _fifo(".gitignore"), ((".gitignore", "a FIFO, not a regular file; skipped"),)),
    Case("socket-py", _socket_file, (("s.py", "a socket, not a regular file; skipped"),)),
    Case("fifo-behind-link", _fifo_behind_link, (("link.py", "a FIFO, not a regular file; skipped"),)),
    Case("dev-zero", _link("z.py", lambda repo, outside: "/dev/zero"),
         (("z.py", "symlink to outside the repository (z.py -> /dev/zero); not followed"),)),
    Case("etc", _link("etc", lambda repo, outside: "/etc"),
         (("etc", "symlink to outside the repository (etc -> /etc); not followed"),)),
    Case("outside-folder", _outside_package, (("lib", "symlink to outside the repository (lib -> "),)),
    Case("outside-readme", _outside_readme, (("README.md", "symlink to outside the repository (README.md -> "),)),
    Case("link-loop", _link_loop, (("a.py", "symlink loop (a.py -> b.py); not followed"),
                                   ("b.py", "symlink loop (b.py -> a.py); not followed"))),
    Case("self-link", _link("self", lambda repo, outside: "self"), (("self", "symlink loop (self -> self); not followed"),)),
    Case("broken-link", _link("gone.py", lambda repo, outside: "missing.py"),
         (("gone.py", "broken symlink (gone.py -> missing.py); not followed"),)),
    Case("gitignore", _bad_gitignore,
         ((".gitignore", "line 1: in pattern '[z-a]', the range z-a is reversed (only 'z' matches, as in git)"),
          (".gitignore", "line 2: pattern '[!]' skipped (unterminated `[` at column 1)"),
          (".gitignore", "line 3: pattern '[\\\\]' skipped (unterminated `[` at column 1)")), ("a" * 43 + ".py",)),
    Case("undecodable-names", _raw_name(b"bad\xff.py"), analysed=("bad\\udcff.py",)),
    Case("undecodable-folder", _raw_name(b"dir\xfe/m.py"), analysed=("dir\\udcfe/m.py",)),
    Case("newline-name", _raw_name(b"a\nb.py"), (("a\\u000ab.py", CONTROL),)),
    Case("escape-name", _raw_name(b"\x1b[31mred\x1b]0;title\x07.py"), (("\\u001b[31mred\\u001b]0;title\\u0007.py", CONTROL),)),
    Case("escape-readme", _ansi_readme),
    Case("escape-source", _escaping_source),
    Case("cell-source", _notebook(json.dumps({"cells": [{"cell_type": "code", "source": [1, 2]},
                                                        {"cell_type": "code", "source": "import os\n"}]})),
         (("nb.ipynb", "code cell(s) 1 have a source that is not text; left out"),), ("nb.ipynb",)),
    Case("deep-notebook", _notebook("[" * 5000 + "]" * 5000),
         (("nb.ipynb", "not a valid Jupyter notebook (nested too deeply)"),)),
    Case("poetry-number", _pyproject("[tool]\npoetry = 5\n")),
    Case("deep-toml", _pyproject("a = " + "[" * 5000 + "]" * 5000 + "\n"),
         (("pyproject.toml", "not valid TOML (nested too deeply); its console scripts are not read"),),
         not_in=("check",)),
    Case("folders-700", deep_folders(700), analysed=("a/" * 700 + "m.py",)),
    Case("huge-file", _huge, (("table.py", "file is 2.1 MB, over the 1024 KiB limit; skipped"),)),
]


def build_case(case: Case, base: Path) -> Path:
    repo, outside = base / "repo", base / "outside"
    repo.mkdir()
    outside.mkdir()
    _write(repo / "ok.py", OK_PY)
    case.build(repo, outside)
    return repo
