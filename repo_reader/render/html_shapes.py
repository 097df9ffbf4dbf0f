"""The shapes `show` prints, for the HTML report: each traced file's annotations (line → the texts `show`
writes beside it, the `sizes:` legend on each function's first line), carried in that file's source blob;
and where each traced module class's `forward` is, for the model drawing's boxes to open.
"""

from __future__ import annotations

import json
from dataclasses import replace

from repo_reader.model import Location, RepoMap, ShapeTrace, TraceStatus
from repo_reader.navigate.annotated import annotate_file
from repo_reader.navigate.sources import Sources
from repo_reader.render.shape_text import ShapeNames, line_notes

SEPARATOR = "\0"  # between a file's text and its annotations; JSON never holds a raw NUL, so the last one is ours

Annotations = dict[int, list[str]]  # line of the file → the texts shown beside it, in order


def file_annotations(repo_map: RepoMap, trace: ShapeTrace | None, sources: Sources) -> dict[str, Annotations]:
    """Every file a traced forward ran lines of, annotated as `show FILE` would annotate it."""
    if trace is None:
        return {}
    traced = [model for model in trace.models if model.status is TraceStatus.OK and model.lines]
    found: dict[str, Annotations] = {}
    for path in sorted({shapes.path for model in traced for shapes in model.lines}):
        # each model's lines cut to the file first: a large model's lines are not searched once per definition
        cut = ShapeTrace(trace.root, tuple(replace(m, lines=tuple(s for s in m.lines if s.path == path))
                                           for m in traced))
        notes: Annotations = {}
        for function in annotate_file(path, repo_map, cut, sources):
            names = ShapeNames(function.size_names)
            for line in function.lines:
                texts = line_notes(line.runs, line.more_runs, names)
                if texts:
                    notes[line.line] = texts
            if names.legend():
                notes.setdefault(function.line, []).insert(0, f"sizes: {names.legend()}")
        if notes:
            found[path] = notes
    return found


def annotated_blob_text(text: str, notes: Annotations) -> str:
    """A source blob's text with its annotations after the last NUL: `{"62": ["x: (B, T, n_embd) float32"]}`."""
    packed = {str(line): texts for line, texts in sorted(notes.items())}
    return text + SEPARATOR + json.dumps(packed, ensure_ascii=False, separators=(",", ":"))


class Forwards:
    """Where the `forward` of a traced module's class is, when the repository defines it, by the class's
    qualified name as the child saw it (`model.Block`); a name imported under a longer or shorter package
    path (`src.pkg.model.Block` for `pkg.model.Block`) matches when one class alone fits."""

    def __init__(self, repo_map: RepoMap) -> None:
        self.where = {d.qualname.removesuffix(".forward"): Location(d.path, d.line, d.col)
                      for d in repo_map.definitions if d.kind == "method" and d.qualname.endswith(".forward")}
        self.bases = {model.qualname: model.bases for model in repo_map.models}
        self.seen: dict[str, Location | None] = {}

    def of(self, class_qualname: str) -> Location | None:
        if class_qualname in self.where:
            return self.where[class_qualname]
        if class_qualname not in self.seen:
            fits = [where for owner, where in self.where.items()
                    if class_qualname.endswith(f".{owner}") or owner.endswith(f".{class_qualname}")]
            self.seen[class_qualname] = fits[0] if len(fits) == 1 else self._inherited(class_qualname)
        return self.seen[class_qualname]

    def _inherited(self, class_qualname: str) -> Location | None:
        """A class that takes its `forward` from a repository base: the nearest base's (breadth first)."""
        names = [name for name in self.bases if name == class_qualname or class_qualname.endswith(f".{name}")
                 or name.endswith(f".{class_qualname}")]
        if len(names) != 1:
            return None
        queue, seen = list(self.bases[names[0]]), {names[0]}
        while queue and len(seen) < 64:
            base = queue.pop(0)
            if base in seen:
                continue
            seen.add(base)
            if base in self.where:
                return self.where[base]
            queue += self.bases.get(base, ())
        return None
