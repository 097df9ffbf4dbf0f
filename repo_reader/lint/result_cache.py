"""The finished-check cache: one entry per repository content and rule selection, so a second `check`
of an unchanged repository reads no syntax tree (the map's cache, `map_cache`, does the same for maps).

Keyed by the map's own fingerprint of the sources (which already covers repo-reader's code version);
stored as plain sealed data (`cache_format`): an entry that fails its digest or its types is a miss.
"""

from __future__ import annotations

import hashlib

from repo_reader.map_cache import load_sealed, store_sealed
from repo_reader.model import CheckReport


def check_key(fingerprint: str, codes: list[str]) -> str:
    digest = hashlib.blake2b(fingerprint.encode(), digest_size=20)
    digest.update(("\0" + ",".join(sorted(codes))).encode())
    return digest.hexdigest()


def load_check(key: str) -> CheckReport | None:
    return load_sealed("checks", key, CheckReport)


def store_check(key: str, report: CheckReport) -> None:
    store_sealed("checks", key, CheckReport, report)
