"""Repository text made safe to show: control characters (ANSI and OSC escape sequences, a carriage
return, a bell), bidirectional overrides, line separators and undecodable bytes in file names become
visible `\\uXXXX` escapes, so nothing a repository holds can drive the terminal or split a location.

The escape is also a valid JSON string escape with the same meaning, so one pass serves every format.
Imports only the standard library (the rich console applies it through `cli.output`).
"""

from __future__ import annotations

import re

# C0 but newline and tab, DEL, C1, line and paragraph separators, bidi embeddings, overrides and
# isolates, and lone surrogates (a file name's undecodable bytes, as os.fsdecode gives them)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_controls(text: str) -> str:
    """Every unsafe character as `\\uXXXX`; newlines and tabs stay."""
    return text if _UNSAFE.search(text) is None else _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """Like `escape_controls`, and newlines and tabs too: a path or a name that must stay on its line."""
    return text if _UNSAFE_IN_LINE.search(text) is None else _UNSAFE_IN_LINE.sub(_escape, text)
