"""The lifecycle pictures in specs/README.md agree with the lifecycles the specs declare.

Each picture under "## Lifecycles" is a mermaid state diagram: `[*] --> s` for a state a create
may produce, `s --> [*]` for a terminal state, `a --> b` for a declared transition (however it
is driven). Every resource with a lifecycle, in specs/ and examples/specs/, has one.
"""

import re
from pathlib import Path

import pytest

from kycspec import SPECS_DIR
from kycspec.lifecycle import Lifecycle
from kycspec.loader import load_all

README = SPECS_DIR / "README.md"
EXAMPLES = SPECS_DIR.parent / "examples" / "specs"
# The picture of each resource with a lifecycle, by the heading it stands under.
PICTURES = {
    ("finx", "customer_verification"): "Fin X",
    ("finx", "kyc_record"): "Fin X",
    ("kontorion", "verification"): "Kontorion",
    ("finhub", "verification"): "FinHub",
    ("onboardly", "applicant"): "Onboardly applicants",
    ("onboardly", "check"): "Onboardly checks",
    ("inquire", "inquiry"): "Inquire inquiries",
}
EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::.*)?$")
Edges = tuple[set[str], set[str], set[tuple[str, str]]]


def _pictures() -> dict[str, Edges]:
    """The edges of each picture under "## Lifecycles", by the first words of its heading."""
    section = README.read_text(encoding="utf-8").split("\n## Lifecycles\n", 1)[1]
    found: dict[str, Edges] = {}
    for part in section.split("\n### ")[1:]:
        heading, _, text = part.partition("\n")
        diagram = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
        starts, ends, moves = found.setdefault(heading, (set(), set(), set()))
        for line in diagram.splitlines():
            edge = EDGE.match(line)
            if edge is None:
                continue
            source, target = edge.groups()
            if source == "[*]":
                starts.add(target)
            elif target == "[*]":
                ends.add(source)
            else:
                moves.add((source, target))
    return found


def _declared(lifecycle: Lifecycle) -> Edges:
    moves = {(s, t.target) for t in lifecycle.transitions for s in t.sources}
    return set(lifecycle.initial), set(lifecycle.terminal), moves


LIFECYCLES = {
    (api, name): resource.lifecycle
    for directory in (SPECS_DIR, EXAMPLES)
    for api, spec in load_all(Path(directory)).items()
    for name, resource in spec.resources.items()
    if resource.lifecycle is not None
}


def test_pictures_every_lifecycle_has_one() -> None:
    assert sorted(LIFECYCLES) == sorted(PICTURES)


@pytest.mark.parametrize("key", sorted(PICTURES), ids=["/".join(k) for k in sorted(PICTURES)])
def test_pictures_agree_with_the_declared_lifecycle(key: tuple[str, str]) -> None:
    pictures = _pictures()
    heading = next(h for h in pictures if h.startswith(PICTURES[key]))
    assert pictures[heading] == _declared(LIFECYCLES[key])
