"""`repo-reader lsp` driven by pygls's own client over stdio, on a copy of the line_shapes fixture (with a
training script for the entry-point lens): inlay hints, hovers, definition, references, code lenses and
diagnostics refreshed on save, with exact ranges and texts; a second server finds the trace in the cache."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "line_shapes"
TRAIN = "from gpt import GPT\n\n\ndef main() -> None:\n    GPT()\n\n\nif __name__ == \"__main__\":\n    main()\n"
PITFALL = "from torch import nn\n\n\nclass Heads(nn.Module):\n    def __init__(self) -> None:\n        super().__init__()\n        self.heads = [nn.Linear(4, 4)]\n"
SETTINGS = {"models": ["gpt.GPT"], "inputs": ["2x8:int64"]}  # as tests/test_show.py: B=2, T=8
WAIT = 90.0


class Session:
    """One server, with what it sent on its own: log lines and diagnostics by file."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.client = LanguageClient("repo-reader-tests", "1")
        self.logs: list[str] = []
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.changed = asyncio.Event()
        self.cache = cache

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)
            self.changed.set()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics[Path(params.uri).name] = params.diagnostics
            self.changed.set()

        @self.client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
        def refresh(params: None) -> None:
            return None

    async def start(self) -> None:
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache)}
        await self.client.start_io(sys.executable, "-m", "repo_reader", "lsp", env=env)
        capabilities = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
            inlay_hint=types.InlayHintWorkspaceClientCapabilities(refresh_support=True)))
        await self.client.initialize_async(types.InitializeParams(
            capabilities=capabilities, root_uri=self.uri(""), initialization_options=SETTINGS))
        self.client.initialized(types.InitializedParams())

    async def until(self, done: Any) -> None:
        async def wait() -> None:
            while not done():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), WAIT)

    def uri(self, path: str) -> str:
        return from_fs_path(str(self.root / path) if path else str(self.root)) or ""

    def document(self, path: str) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(self.uri(path))

    def open(self, path: str) -> None:
        text = (self.root / path).read_text()
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(self.uri(path), "python", 1, text)))

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def at(line: int, character: int) -> types.Position:
    """A 1-based line (as the editor shows it) and a 0-based character."""
    return types.Position(line - 1, character)


async def scenario(root: Path, cache: Path) -> dict[str, Any]:
    session = Session(root, cache)
    await session.start()
    gpt, client = session.document("gpt.py"), session.client
    session.open("gpt.py")
    await session.until(lambda: any("traced" in line for line in session.logs))
    found: dict[str, Any] = {"logs": list(session.logs), "diagnostics_at_start": dict(session.diagnostics)}
    found["hints"] = await client.text_document_inlay_hint_async(types.InlayHintParams(gpt, types.Range(at(1, 0), at(70, 0))))
    found["hover_layer"] = await client.text_document_hover_async(types.HoverParams(gpt, at(48, 20)))
    found["hover_model"] = await client.text_document_hover_async(types.HoverParams(gpt, at(52, 8)))
    found["definition"] = await client.text_document_definition_async(types.DefinitionParams(gpt, at(48, 20)))
    found["references"] = await client.text_document_references_async(types.ReferenceParams(
        context=types.ReferenceContext(include_declaration=False), text_document=gpt, position=at(47, 9)))
    found["lenses"] = await client.text_document_code_lens_async(types.CodeLensParams(gpt))
    found["train_lenses"] = await client.text_document_code_lens_async(types.CodeLensParams(session.document("train.py")))
    (root / "heads.py").write_text(PITFALL)  # saved in the editor: check runs again, the trace too
    client.text_document_did_save(types.DidSaveTextDocumentParams(session.document("heads.py")))
    await session.until(lambda: "heads.py" in session.diagnostics and sum("traced" in line for line in session.logs) == 2)
    found["diagnostics_after_save"] = session.diagnostics["heads.py"]
    await session.stop()
    again = Session(root, cache)  # the same content: the trace comes from the cache
    await again.start()
    await again.until(lambda: any("traced" in line for line in again.logs))
    found["logs_again"] = list(again.logs)
    await again.stop()
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("lsp") / "line_shapes"
    shutil.copytree(FIXTURE, root)
    (root / "train.py").write_text(TRAIN)
    return asyncio.run(scenario(root, tmp_path_factory.mktemp("cache")))


def place(location: types.Location) -> tuple[str, int, int]:
    return Path(location.uri).name, location.range.start.line + 1, location.range.start.character


def test_inlay_hints_are_the_line_shapes_at_the_end_of_each_traced_line(served: dict[str, Any]) -> None:
    hints = {hint.position.line + 1: (hint.position.character, hint.label) for hint in served["hints"]}
    assert sorted(hints) == [29, 30, 31, 32, 33, 34, 35, 36, 48, 49, 62, 64, 65, 66]
    assert hints[29] == (26, "# B: 2  T: 8  C: 48  ×3")
    assert hints[48] == (37, "# ln (B, T, n_embd) → (B, T, n_embd)  attn (B, T, n_embd) → (B, T, n_embd)  "
                             "x: (B, T, n_embd) float32  ×3")
    assert hints[64] == (24, "# Block (B, T, n_embd) → (B, T, n_embd)  x: (B, T, n_embd) float32  ×3")
    assert hints[66] == (21, "# return (B, T, vocab_size) float32")
    assert all(hint.padding_left for hint in served["hints"])


def test_hover_on_a_layer_and_on_a_model_class(served: dict[str, Any]) -> None:
    layer, model = served["hover_layer"], served["hover_model"]
    assert layer.contents.value == ("**self.attn**: `gpt.Attention`\n\n"
                                    "`[2, 8, 48]` → `[2, 8, 48]` (blocks.0.attn, blocks.1.attn, blocks.2.attn)\n\n"
                                    "9,408 params · 319.49 K FLOPs\n\nbuilt at gpt.py:43:9")
    assert (layer.range.start.line, layer.range.start.character, layer.range.end.character) == (47, 16, 25)
    assert model.contents.value == ("**gpt.GPT**: `gpt.GPT`\n\n`[2, 8] int64` → `[2, 8, 100]`\n\n"
                                    "95,664 params · 2.88 M FLOPs\n\nbuilt at train.py:5:5")
    assert (model.range.start.line, model.range.start.character, model.range.end.character) == (51, 6, 9)


def test_definition_goes_through_the_layer_call_to_its_forward(served: dict[str, Any]) -> None:
    assert place(served["definition"]) == ("gpt.py", 28, 4)  # Attention.forward's `def`


def test_references_are_the_call_sites_from_the_call_graph(served: dict[str, Any]) -> None:
    assert [place(location) for location in served["references"]] == [("gpt.py", 64, 16)]  # block(x) in GPT.forward


def test_code_lenses_on_model_classes_and_the_entry_point(served: dict[str, Any]) -> None:
    lenses = [(lens.range.start.line + 1, lens.command.title) for lens in served["lenses"]]
    assert lenses == [(21, "submodule · 9,408 params · 319.49 K FLOPs"), (39, "submodule · 28,176 params · 909.31 K FLOPs"),
                      (52, "top-level · 95,664 params · 2.88 M FLOPs")]
    assert [(lens.range.start.line + 1, lens.command.title) for lens in served["train_lenses"]] == \
        [(8, "run: python train.py")]


def test_diagnostics_from_check_are_refreshed_on_save(served: dict[str, Any]) -> None:
    assert served["diagnostics_at_start"] == {}  # the fixture passes every check
    (diagnostic,) = served["diagnostics_after_save"]
    assert (diagnostic.code, diagnostic.source, diagnostic.severity) == ("RR101", "repo-reader",
                                                                         types.DiagnosticSeverity.Error)
    assert (diagnostic.range.start.line, diagnostic.range.start.character) == (6, 21)  # the plain list


def test_the_trace_is_cached_by_content(served: dict[str, Any]) -> None:
    assert served["logs"] == ["repo-reader: traced 1 of 1 model(s) of line_shapes"]
    assert served["logs_again"] == ["repo-reader: traced 1 of 1 model(s) of line_shapes (from the cache)"]


def test_without_pygls_one_line_and_exit_2() -> None:
    hide = ("import sys\nclass Hide:\n    def find_spec(self, name, *args):\n"
            "        if name.split('.')[0] == 'pygls':\n            raise ImportError(name=name)\n"
            "sys.meta_path.insert(0, Hide())\nsys.argv = ['repo-reader', 'lsp']\n"
            "from repo_reader.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "repo-reader: error: repo-reader lsp needs pygls: pip install 'repo-reader[serve]'\n"
