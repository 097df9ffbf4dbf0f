"""YAML text as plain nodes that keep where each value is written (line, column, the text as written),
for the passes that read model configs. PyYAML is imported only when a YAML file is read.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

MAX_YAML_BYTES = 64 * 1024  # model configs are small; a bigger YAML is data, not read
_MAX_DEPTH = 12  # an alias cycle (`&a [*a]`) or a deep document ends here
_MAX_NODES = 20_000


class YamlNode(NamedTuple):
    kind: str  # mapping | sequence | scalar
    text: str  # the source as written (a quoted scalar keeps its quotes)
    line: int  # 1-based
    col: int
    value: str = ""  # a scalar's value
    items: tuple[tuple[YamlNode, YamlNode], ...] = ()  # a mapping's (key, value) pairs
    elements: tuple[YamlNode, ...] = ()  # a sequence's items

    def get(self, key: str) -> YamlNode | None:
        """The value of `key` in a mapping, else None."""
        return next((value for name, value in self.items if name.kind == "scalar" and name.value == key), None)


@functools.lru_cache(maxsize=256)
def read_yaml(text: str) -> YamlNode | None:
    """The document's root node; None when it is too big, does not parse, or PyYAML is missing.
    Memoised by text: the layer lists, the `target:` sites and every model reading one file share a parse."""
    if len(text) > MAX_YAML_BYTES:
        return None
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # the Python loader: its marks index the str
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    if root is None:
        return None
    budget = [_MAX_NODES]
    return _convert(root, text, 0, budget)


def _convert(node: object, text: str, depth: int, budget: list[int]) -> YamlNode:
    import yaml

    budget[0] -= 1
    start, end = node.start_mark, node.end_mark  # type: ignore[attr-defined]
    written = text[start.index:end.index].strip()
    line, col = start.line + 1, start.column + 1
    if isinstance(node, yaml.ScalarNode):
        return YamlNode("scalar", written, line, col, str(node.value))
    if depth >= _MAX_DEPTH or budget[0] <= 0:
        return YamlNode("scalar", written, line, col, "")
    if isinstance(node, yaml.MappingNode):
        items = tuple((_convert(key, text, depth + 1, budget), _convert(value, text, depth + 1, budget))
                      for key, value in node.value)
        return YamlNode("mapping", written, line, col, items=items)
    elements = tuple(_convert(item, text, depth + 1, budget) for item in node.value)  # type: ignore[attr-defined]
    return YamlNode("sequence", written, line, col, elements=elements)
