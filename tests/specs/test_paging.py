"""Page starts have a grammar in the spec, so every schema-valid one has a defined answer.

specs/README.md ("Parameters: x-filter and x-page"): a `starting_after` declares the resource's
id format (an unknown well-formed id is a 404), a `cursor` the mock's cursor grammar (every
well-formed cursor is a position). Without it, a client or Schemathesis could send a
schema-valid page start that the server refuses as malformed.
"""

from typing import Any

import pytest

from kycspec.loader import inline_refs, load_all
from kycspec.model import ApiSpec, Operation
from mockserver.paging import CURSOR_PATTERN

SPECS = load_all()
PAGED = [
    pytest.param(spec, op, id=f"{name}: {op.operation_id}")
    for name, spec in sorted(SPECS.items())
    for op in spec.operations.values()
    if op.paging is not None and op.paging.style is not None
]


def _pattern(spec: ApiSpec, schema: Any) -> str | None:
    """The pattern a schema declares, directly or through `allOf` / `$ref`."""
    schema = inline_refs(spec.document, schema)
    if "pattern" in schema:
        return str(schema["pattern"])
    return next(
        (found for part in schema.get("allOf", []) if (found := _pattern(spec, part))), None
    )


def _page_schema(op: Operation) -> Any:
    assert op.paging is not None
    return next(p["schema"] for p in op.parameters if p["name"] == op.paging.page_param)


def test_some_list_pages_by_each_style() -> None:
    styles = {op.paging.style for _, op in (p.values for p in PAGED) if op.paging}
    assert styles == {"starting_after", "cursor"}


@pytest.mark.parametrize(("spec", "op"), PAGED)
def test_page_start_declares_its_grammar(spec: ApiSpec, op: Operation) -> None:
    assert op.paging is not None
    declared = _pattern(spec, _page_schema(op))
    if op.paging.style == "cursor":
        assert declared == CURSOR_PATTERN
    else:
        id_schema = op.resource.schema["properties"][op.resource.id_field]
        assert declared is not None
        assert declared == _pattern(spec, id_schema)
