"""One end-to-end run of `repo-reader lsp` in a real editor: headless Neovim (Debian's package, 0.7+)
starts the server, opens a fixture file and asks for a definition and the code lenses (static only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
NVIM = shutil.which("nvim")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "line_shapes"
SCRIPT = """
local id = vim.lsp.start_client({
  name = "repo-reader", cmd = { PYTHON, "-m", "repo_reader", "lsp" }, root_dir = ROOT,
  init_options = { trace = false },
})
vim.cmd("edit " .. ROOT .. "/gpt.py")
vim.lsp.buf_attach_client(0, id)
local ready = vim.wait(60000, function()
  local client = vim.lsp.get_client_by_id(id)
  return client ~= nil and client.initialized == true
end, 50)
local document = { uri = vim.uri_from_bufnr(0) }
local definition = vim.lsp.buf_request_sync(0, "textDocument/definition",
  { textDocument = document, position = { line = 47, character = 20 } }, 60000) or {}
local lenses = vim.lsp.buf_request_sync(0, "textDocument/codeLens", { textDocument = document }, 60000) or {}
local file = io.open(OUT, "w")
file:write(vim.fn.json_encode({ ready = ready, definition = definition[id] and definition[id].result,
                                lenses = lenses[id] and lenses[id].result }))
file:close()
vim.cmd("qa!")
"""


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (Debian: apt-get install neovim)")
def test_neovim_goes_through_a_layer_call_to_its_forward_and_shows_the_lenses(tmp_path: Path) -> None:
    root = tmp_path / "line_shapes"
    shutil.copytree(FIXTURE, root)
    out = tmp_path / "answers.json"
    script = tmp_path / "client.lua"
    script.write_text(f"PYTHON = {json.dumps(sys.executable)}\nROOT = {json.dumps(str(root))}\n"
                      f"OUT = {json.dumps(str(out))}\n{SCRIPT}")
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    subprocess.run([NVIM, "--headless", "-u", "NONE", "-c", f"luafile {script}"], cwd=tmp_path, env=environment,
                   timeout=180, capture_output=True, check=True)
    answers = json.loads(out.read_text())
    assert answers["ready"] is True
    definition = answers["definition"]  # `self.attn(...)` at gpt.py:48 → Attention.forward's `def`
    assert (Path(definition["uri"]).name, definition["range"]["start"]) == ("gpt.py", {"line": 27, "character": 4})
    assert [(lens["range"]["start"]["line"] + 1, lens["command"]["title"]) for lens in answers["lenses"]] == \
        [(21, "submodule"), (39, "submodule"), (52, "top-level")]  # no trace asked: no figures
