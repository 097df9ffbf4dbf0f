"""Text carried by the HTML report compressed: zlib-deflated, base64 in a `<script>` element of its own,
inflated by the browser (DecompressionStream) only when it is shown. Stdlib only."""

from __future__ import annotations

import base64
import re
import zlib

BLOB_TYPE = "text/x-deflate-base64"
_BLOB = re.compile(rf'<script type="{BLOB_TYPE}" id="([^"]+)">([^<]*)</script>')


def blob(element_id: str, text: str) -> str:
    """One `<script>` element holding `text` compressed; base64 never contains `<`, so it cannot end early."""
    packed = base64.b64encode(zlib.compress(text.encode("utf-8", errors="replace"), 6)).decode("ascii")
    return f'<script type="{BLOB_TYPE}" id="{element_id}">{packed}</script>'


def unpack_blobs(html: str) -> dict[str, str]:
    """Every blob of a report by element id, inflated: what the browser sees when it opens them."""
    return {element_id: zlib.decompress(base64.b64decode(packed)).decode("utf-8")
            for element_id, packed in _BLOB.findall(html)}
