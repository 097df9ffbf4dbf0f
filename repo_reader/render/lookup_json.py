"""`goto`, `callers` and `callees` as deterministic JSON with a schema version (root-relative paths)."""

from __future__ import annotations

import json

from repo_reader.model import CallWalk, Lookup
from repo_reader.plain import to_plain

LOOKUP_SCHEMA_VERSION = 1


def render_lookup_json(found: Lookup) -> str:
    """Every definition that matched the query (the closest names and unparsed files when none did)."""
    return json.dumps({"schema_version": LOOKUP_SCHEMA_VERSION} | to_plain(found), indent=2, ensure_ascii=False) + "\n"


def render_walks_json(walks: tuple[CallWalk, ...]) -> str:
    """One walk per definition the symbol matched (one when it named a definition exactly)."""
    plain = {"schema_version": LOOKUP_SCHEMA_VERSION, "walks": to_plain(walks)}
    return json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
