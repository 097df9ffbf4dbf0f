"""`repo-reader lsp`: a language server on stdio (pygls) for the repository open in the editor.

Thin: each handler turns the request into a place (path, line, name), asks `navigate` and the
workspace's analysis, trace and check report, and renders with `render.editor_text`. Imports pygls,
so only `repo-reader lsp` imports this module.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from repo_reader import __version__
from repo_reader.model import Definition, Finding, Location, Severity, ShapeTrace, TraceDevice
from repo_reader.navigate.annotated import annotate_file
from repo_reader.navigate.api import calls
from repo_reader.navigate.positions import (call_at, definition_at, definition_named, layer_view, model_at, model_trace,
                                            model_view)
from repo_reader.navigate.sources import Sources
from repo_reader.render.editor_text import entry_lens_title, hint_label, layer_markdown, model_lens_title
from repo_reader.render.locations import Locator
from repo_reader.render.shape_text import ShapeNames
from repo_reader.serve.text import Word, dotted_name_at, relative_path
from repo_reader.serve.workspace import Workspace
from repo_reader.trace.api import TraceOptions

SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning,
            Severity.INFO: types.DiagnosticSeverity.Information}


class ReaderServer(LanguageServer):
    """The server, with the workspace it opened (the client's root folder) once initialized."""

    def __init__(self) -> None:
        super().__init__("repo-reader", __version__)
        self.reader: Workspace | None = None
        self.options = TraceOptions(record_lines=True)
        self.trace_enabled = True
        self.published: set[str] = set()  # paths that were sent diagnostics, to clear them when fixed
        self.loop: asyncio.AbstractEventLoop | None = None

    def place(self, uri: str) -> tuple[Workspace, str] | None:
        """The workspace and the document's root-relative path, for documents inside the repository."""
        if self.reader is None:
            return None
        path = relative_path(self.reader.root, to_fs_path(uri) or "")
        return (self.reader, path) if path is not None else None

    def word(self, uri: str, position: types.Position) -> Word | None:
        lines = self.workspace.get_text_document(uri).lines
        return dotted_name_at(lines[position.line], position.character) if position.line < len(lines) else None

    def uri(self, path: str) -> str:
        assert self.reader is not None
        return from_fs_path(str(self.reader.root / path)) or ""


server = ReaderServer()


@server.feature(types.INITIALIZE)
def initialize(ls: ReaderServer, params: types.InitializeParams) -> None:
    """The root folder, and the trace's settings from `initializationOptions`."""
    folders = params.workspace_folders or []
    root = to_fs_path(folders[0].uri) if folders else (to_fs_path(params.root_uri) if params.root_uri else params.root_path)
    settings: dict[str, Any] = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    ls.trace_enabled = bool(settings.get("trace", True))
    ls.options = TraceOptions(models=tuple(settings.get("models", ())), inputs=tuple(settings.get("inputs", ())),
                              init=tuple(settings.get("init", ())), device=TraceDevice(settings.get("device", "auto")),
                              timeout=float(settings.get("timeout", 120.0)), record_lines=True)
    if root:
        ls.reader = Workspace(Path(root), ls.options, lambda trace, message: _traced(ls, trace, message))


@server.feature(types.INITIALIZED)
def initialized(ls: ReaderServer, params: types.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    if ls.reader is None:
        return
    _publish_diagnostics(ls)
    if ls.trace_enabled:
        ls.reader.start_trace()


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: ReaderServer, params: types.DidSaveTextDocumentParams) -> None:
    if ls.reader is None or ls.place(params.text_document.uri) is None:
        return
    ls.reader.refresh()
    _publish_diagnostics(ls)
    if ls.trace_enabled:
        ls.reader.start_trace()


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def inlay_hints(ls: ReaderServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    place = ls.place(params.text_document.uri)
    trace = place[0].trace() if place else None
    if place is None or trace is None:
        return []
    reader, path = place
    first, last = params.range.start.line + 1, params.range.end.line + 1
    hints = []
    for function in annotate_file(path, reader.analysis().repo_map, trace, Sources(reader.root)):
        names = ShapeNames(function.size_names)
        hints += [types.InlayHint(types.Position(line.line - 1, len(line.source)), hint_label(line, names),
                                  padding_left=True)
                  for line in function.lines if line.runs and first <= line.line <= last]
    return hints


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: ReaderServer, params: types.HoverParams) -> types.Hover | None:
    place, word = ls.place(params.text_document.uri), ls.word(params.text_document.uri, params.position)
    if place is None or word is None:
        return None
    reader, path = place
    repo_map, line = reader.analysis().repo_map, params.position.line + 1
    if word.text.startswith("self."):
        view = layer_view(repo_map, reader.trace(), path, line, word.text.split(".")[1])
    else:
        view = model_view(repo_map, reader.trace(), _model_named(repo_map, path, line, word.text))
    if view is None:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, layer_markdown(view, Locator(reader.root, ""))),
                       _range(params.position.line, word))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ReaderServer, params: types.DefinitionParams) -> types.Location | None:
    """Through `self.layer(x)` to the layer's `forward` (the map's module-call edge)."""
    found = _callee(ls, params.text_document.uri, params.position)
    return _location(ls, Location(found.path, found.line, found.col)) if found is not None else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: ReaderServer, params: types.ReferenceParams) -> list[types.Location]:
    """The call sites of the function defined on this line, or of the one this call calls (the call graph)."""
    uri, position = params.text_document.uri, params.position
    place = ls.place(uri)
    here = definition_at(place[0].analysis().repo_map, place[1], position.line + 1) if place else None
    target = here or _callee(ls, uri, position)
    if place is None or target is None:
        return []
    return [_location(ls, step.site) for step in calls(place[0].analysis(), target.qualname, "callers", 1).steps]


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
def code_lenses(ls: ReaderServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    place = ls.place(params.text_document.uri)
    if place is None:
        return []
    reader, path = place
    repo_map, trace = reader.analysis().repo_map, reader.trace()
    titles = [(model.line, model.col, model_lens_title(model, model_trace(trace, model.qualname),
                                                        model_view(repo_map, trace, model.qualname)))
              for model in repo_map.models if model.path == path]
    titles += [(entry.line, entry.col, entry_lens_title(entry)) for entry in repo_map.entry_points if entry.path == path]
    return [types.CodeLens(types.Range(types.Position(line - 1, col - 1), types.Position(line - 1, col - 1)),
                           types.Command(title, ""))
            for line, col, title in sorted(titles)]


def _callee(ls: ReaderServer, uri: str, position: types.Position) -> Definition | None:
    place, word = ls.place(uri), ls.word(uri, position)
    if place is None or word is None:
        return None
    reader, path = place
    repo_map = reader.analysis().repo_map
    edge = call_at(repo_map, path, position.line + 1, word.start + 1)
    return definition_named(repo_map, edge.callee) if edge is not None else None


def _model_named(repo_map: Any, path: str, line: int, name: str) -> str:
    """The model class a name stands for: the class defined on this line, else the model of that name."""
    here = model_at(repo_map, path, line)
    if here is not None and here.line == line and here.qualname.rsplit(".", 1)[-1] == name:
        return str(here.qualname)
    same = [model.qualname for model in repo_map.models if model.qualname.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]]
    return same[0] if same else ""


def _publish_diagnostics(ls: ReaderServer) -> None:
    assert ls.reader is not None
    report = ls.reader.check()
    by_path: dict[str, list[types.Diagnostic]] = {}
    for finding in report.findings:
        if "#" not in finding.path:  # a notebook cell has no line of its own in the editor
            by_path.setdefault(finding.path, []).append(_diagnostic(finding))
    for path in sorted(ls.published | set(by_path)):
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(ls.uri(path), by_path.get(path, [])))
    ls.published = set(by_path)


def _diagnostic(finding: Finding) -> types.Diagnostic:
    start = types.Position(finding.line - 1, finding.col - 1)
    end = types.Position((finding.end_line or finding.line) - 1, (finding.end_col or finding.col) - 1)
    return types.Diagnostic(types.Range(start, end), finding.message, SEVERITY[finding.severity], finding.code,
                            source="repo-reader")


def _traced(ls: ReaderServer, trace: ShapeTrace | None, message: str) -> None:
    """From the trace's thread: say so, and ask the editor to fetch hints and lenses again."""
    def tell() -> None:
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, message))
        capabilities = ls.client_capabilities.workspace
        if trace is not None and capabilities is not None:
            if capabilities.inlay_hint and capabilities.inlay_hint.refresh_support:
                ls.workspace_inlay_hint_refresh(None)
            if capabilities.code_lens and capabilities.code_lens.refresh_support:
                ls.workspace_code_lens_refresh(None)

    if ls.loop is not None:
        ls.loop.call_soon_threadsafe(tell)


def _location(ls: ReaderServer, place: Location) -> types.Location:
    position = types.Position(place.line - 1, place.col - 1)
    return types.Location(ls.uri(place.path), types.Range(position, position))


def _range(line: int, word: Word) -> types.Range:
    return types.Range(types.Position(line, word.start), types.Position(line, word.end))


def serve() -> None:
    server.start_io()
