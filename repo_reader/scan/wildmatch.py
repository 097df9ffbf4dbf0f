"""Git's wildmatch (the `.gitignore` glob) in time linear in the name, whatever the pattern.

A regex translation backtracks: `*a*a*a*a*a*a*a*a*a*a*b` took 30 s on a 43-character name, and
`**/` repeated took longer. Here a path is matched segment by segment: within a segment each run of
stars is an atomic, leftmost search for the fixed-length piece after it, and across segments each
`**` lets the next group of segments start at its leftmost match. Both choices are safe because what
follows a star (or a `**`) has a fixed length. Imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9",
    "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}

Segment = str | re.Pattern[str]  # a literal name, or a compiled one-segment glob


class BadPattern(ValueError):
    """A pattern git itself could never match (an unterminated `[`, a trailing backslash)."""


@dataclass(frozen=True, slots=True)
class Wildmatch:
    """A compiled pattern: groups of consecutive segments, with a `**` between each two."""

    groups: tuple[tuple[Segment, ...], ...]
    gaps: tuple[int, ...]  # for each `**`, the fewest segments it stands for (1 for a trailing `/**`)
    basename_only: bool  # no slash in the pattern: it matches the last segment at any depth

    def matches(self, path: str) -> bool:
        """Whether a slash-separated relative path (no leading or trailing slash) matches."""
        if self.basename_only:
            return _segment_matches(self.groups[0][0], path.rsplit("/", 1)[-1])
        return _groups_match(self.groups, self.gaps, path.split("/"))


def compile_wildmatch(pattern: str, anchored: bool) -> tuple[Wildmatch, list[str]]:
    """The compiled pattern, and notes on parts that match nothing (a reversed range). The caller
    strips `!`, a trailing `/` and one leading `/`; `anchored` is git's rule (a slash at the start or in
    the middle): otherwise the pattern is matched against the last name at any depth.
    `BadPattern` when git could never match it."""
    notes: list[str] = []
    segments = _segments(_tokens(pattern, notes))
    if not anchored:
        return Wildmatch(((_compile_segment(segments[0]),),), (), True), notes
    groups: list[tuple[Segment, ...]] = []
    gaps: list[int] = []
    current: list[Segment] = []
    for number, tokens in enumerate(segments):
        following = segments[number + 1] if number + 1 < len(segments) else None
        if not _is_starstar(tokens):
            current.append(_compile_segment(tokens))
        elif gaps and not current:  # `**/**` is one `**`
            gaps[-1] = max(gaps[-1], _fewest(following))
        else:
            groups.append(tuple(current))
            gaps.append(_fewest(following))
            current = []
    groups.append(tuple(current))
    return Wildmatch(tuple(groups), tuple(gaps), False), notes


def _fewest(following: list[Token] | None) -> int:
    """Segments a `**` must cover: one when it ends the pattern (`abc/**` is what is inside `abc`) or
    comes before an escaped slash (as git's wildmatch has it), else none."""
    return 1 if following is None or (following and following[0] == (_SLASH, "\\/")) else 0


def _segment_matches(segment: Segment, text: str) -> bool:
    if type(segment) is str:
        return segment == text
    return segment.fullmatch(text) is not None  # type: ignore[union-attr]


def _group_at(group: tuple[Segment, ...], names: list[str], start: int) -> bool:
    return all(_segment_matches(segment, names[start + offset]) for offset, segment in enumerate(group))


def _groups_match(groups: tuple[tuple[Segment, ...], ...], gaps: tuple[int, ...], names: list[str]) -> bool:
    first, last = groups[0], groups[-1]
    if len(groups) == 1:
        return len(names) == len(first) and _group_at(first, names, 0)
    end = len(names) - len(last)  # where the last group must start
    if end < len(first) or not _group_at(first, names, 0) or not _group_at(last, names, end):
        return False
    position = len(first)
    for gap, group in zip(gaps, groups[1:-1]):  # the leftmost match of each middle group leaves the most room
        position += gap
        while position + len(group) <= end and not _group_at(group, names, position):
            position += 1
        if position + len(group) > end:
            return False
        position += len(group)
    return position + gaps[-1] <= end


# token kinds: (kind, text) where text is the literal, the run of stars, or the class's regex
_LITERAL, _STAR, _ANY, _CLASS, _SLASH = range(5)
Token = tuple[int, str]


def _tokens(pattern: str, notes: list[str]) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                raise BadPattern("ends with a lone backslash")
            escaped = pattern[index + 1]
            tokens.append((_SLASH, "\\/") if escaped == "/" else (_LITERAL, escaped))
            index += 2
        elif char == "*":
            end = index
            while end < len(pattern) and pattern[end] == "*":
                end += 1
            tokens.append((_STAR, pattern[index:end]))
            index = end
        elif char == "?":
            tokens.append((_ANY, "?"))
            index += 1
        elif char == "[":
            regex, index = _bracket(pattern, index, notes)
            tokens.append((_CLASS, regex))
        else:
            tokens.append((_SLASH, "/") if char == "/" else (_LITERAL, char))
            index += 1
    return tokens


def _segments(tokens: list[Token]) -> list[list[Token]]:
    """Tokens split at each slash; a segment after an escaped slash (`\\/`) starts with that token."""
    segments: list[list[Token]] = [[]]
    for token in tokens:
        if token[0] == _SLASH:
            segments.append([token] if token[1] == "\\/" else [])
        else:
            segments[-1].append(token)
    return segments


def _is_starstar(tokens: list[Token]) -> bool:
    """A whole segment of two or more stars: git's `**`."""
    tokens = tokens[1:] if tokens and tokens[0][0] == _SLASH else tokens
    return len(tokens) == 1 and tokens[0][0] == _STAR and len(tokens[0][1]) >= 2


def _compile_segment(tokens: list[Token]) -> Segment:
    """A literal name, or a regex over one segment: `c0(?>.*?c1)...(?>.*?cN-1).*cN` for the pieces
    between runs of stars (each piece matches a fixed number of characters)."""
    tokens = [token for token in tokens if token[0] != _SLASH]
    if all(kind == _LITERAL for kind, _ in tokens):
        return "".join(text for _, text in tokens)
    chunks: list[str] = []
    pieces: list[str] = []
    for kind, text in tokens:
        if kind == _STAR:
            chunks.append("".join(pieces))
            pieces = []
        else:
            pieces.append(re.escape(text) if kind == _LITERAL else "." if kind == _ANY else text)
    chunks.append("".join(pieces))
    if len(chunks) == 1:
        body = chunks[0]
    else:
        body = chunks[0] + "".join(f"(?>.*?{chunk})" for chunk in chunks[1:-1]) + ".*" + chunks[-1]
    return re.compile(body, re.DOTALL)


def _bracket(text: str, start: int, notes: list[str]) -> tuple[str, int]:
    """A `[...]` expression at `start` as a regex character class, and the index after it; git's
    rules: a `]` first is literal, a range's first character also matches alone (so `[z-a]` matches
    `z`), `[:name:]` is a class and `[:` without `:]` a literal `[`."""
    index = start + 1
    negated = index < len(text) and text[index] in "!^"
    if negated:
        index += 1
    items: list[str] = []
    previous = ""  # the character a `-` would start a range from ("" after a range or a class)
    first = True
    while True:
        if index >= len(text):
            raise BadPattern(f"unterminated `[` at column {start + 1}")
        char = text[index]
        if char == "]" and not first:
            return _class_regex(items, negated), index + 1
        first = False
        if char == "-" and previous and index + 1 < len(text) and text[index + 1] != "]":
            high, index = _class_char(text, index + 1)
            if high < previous:
                notes.append(f"the range {previous}-{high} is reversed (only {previous!r} matches, as in git)")
            else:
                items.append(f"{re.escape(previous)}-{re.escape(high)}")
            previous = ""
        elif text.startswith("[:", index):
            close = text.find("]", index + 2)
            if close < 0:
                raise BadPattern(f"unterminated `[` at column {start + 1}")
            if close - index - 3 < 0 or text[close - 1] != ":":  # no `:]`: a literal `[`
                items.append(re.escape("["))
                previous = "["
                index += 1
                continue
            name = text[index + 2 : close - 1]
            if name not in POSIX_CLASSES:
                raise BadPattern(f"unknown character class [:{name}:]")
            items.append(POSIX_CLASSES[name])
            previous = ""
            index = close + 1
        else:
            previous, index = _class_char(text, index)
            items.append(re.escape(previous))


def _class_regex(items: list[str], negated: bool) -> str:
    if not items:
        return "." if negated else "(?!)"
    return f"[{'^' if negated else ''}{''.join(items)}]"


def _class_char(text: str, index: int) -> tuple[str, int]:
    if text[index] == "\\":
        if index + 1 >= len(text):
            raise BadPattern("ends with a lone backslash")
        return text[index + 1], index + 2
    return text[index], index + 1
