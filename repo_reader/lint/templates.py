"""Code-generation templates: files that are never run as written, so their findings would be false.

Hugging Face's `modular_<name>.py` files are inputs to a converter that writes `modeling_<name>.py`
(and siblings) from them, moving statements around: `self.x = nn.Linear(...)` before
`super().__init__()` in a template is legal there. A template is recognised by its output, a sibling
whose header says it was generated from the template; the generated file is what `check` judges.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from repo_reader.scan.facts import ModuleFacts

TEMPLATE_NAME = re.compile(r"(?:^|/)modular_(?P<name>\w+)\.py$")
HEADER_CHARS = 2000  # the generated file's banner is at its top


def generation_templates(modules: tuple[ModuleFacts, ...], read: Callable[[str], str | None]) -> frozenset[str]:
    """Paths of the template files among `modules` that a sibling in the repo was generated from."""
    paths = {facts.path for facts in modules}
    found = set()
    for path in sorted(paths):
        match = TEMPLATE_NAME.search(path)
        if match is None:
            continue
        folder = path[: match.start("name") - len("modular_")]
        template = f"modular_{match['name']}.py"
        siblings = (other for other in paths if other != path and other.startswith(folder)
                    and "/" not in other[len(folder):] and other.endswith(f"_{match['name']}.py"))
        for sibling in siblings:
            header = (read(sibling) or "")[:HEADER_CHARS]
            if "generated from" in header and template in header:
                found.add(path)
                break
    return frozenset(found)
