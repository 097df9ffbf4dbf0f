"""Call chains from each entry point down to the top-level model's `forward` and the dataset's
`__getitem__`: the path a newcomer follows to see how data meets the network.
"""

from __future__ import annotations

import networkx as nx

from repo_reader.model import Chain, DatasetInfo, EntryPoint, ModelInfo

MAX_ENTRIES = 8  # chains for the highest-ranked entry points only; the rest rarely add reading value


def find_chains(graph: nx.DiGraph, entries: tuple[EntryPoint, ...], models: list[ModelInfo],
                datasets: list[DatasetInfo]) -> tuple[Chain, ...]:
    internal = graph.subgraph(node for node, data in graph.nodes(data=True) if data.get("internal"))
    targets = [f"{m.qualname}.forward" for m in models if m.top_level] + [
        f"{d.qualname}.__getitem__" for d in datasets
    ]
    targets += [f"{m.qualname}.training_step" for m in models if m.top_level and m.framework == "lightning"]
    chains: list[Chain] = []
    for entry in entries[:MAX_ENTRIES]:
        if entry.name not in internal:
            continue
        paths = nx.single_source_shortest_path(internal, entry.name)
        chains += [Chain(entry.name, target, tuple(paths[target])) for target in targets if target in paths]
    return tuple(chains)
