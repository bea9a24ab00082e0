"""What the interactive docs (`<base URL>/ui/`) show: the spec, made safe for "Try it out".

Swagger UI fills each parameter's field with its example. For a list filter or a page start
that is a trap: "Try it out" sends the example and the list hides the record just created (a
filter on January 2024), or is refused (a page starting after an id that does not exist). The
served document moves those examples into the parameter's description instead.
"""

import copy
from typing import Any

from kycspec.loader import inline_refs
from kycspec.types import JSONObject

DOCS_TITLE = "{title} · kyc-contracts mock"
EXAMPLE_NOTE = "Example: `{example}`."
_NARROWING = ("x-filter", "x-page")


def served_document(document: JSONObject) -> JSONObject:
    """A copy of the spec in which no optional filter or paging query parameter has an example
    (each example is kept in the description)."""
    served = copy.deepcopy(document)
    for parameter in _parameters(served):
        optional = parameter.get("in") == "query" and not parameter.get("required")
        if optional and any(key in parameter for key in _NARROWING):
            _move_examples(served, parameter)
    return served


def _parameters(document: JSONObject) -> list[dict[str, Any]]:
    """Every parameter object written in place (path items, operations, components)."""
    found: list[Any] = list(document.get("components", {}).get("parameters", {}).values())
    for item in document.get("paths", {}).values():
        found += item.get("parameters", [])
        found += [
            p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])
        ]
    return [p for p in found if isinstance(p, dict) and "$ref" not in p]


def _move_examples(document: JSONObject, parameter: dict[str, Any]) -> None:
    examples = []
    if "example" in parameter:
        examples.append(parameter.pop("example"))
    schema = parameter.get("schema")
    if isinstance(schema, dict) and "$ref" in schema:
        # a shared schema keeps its example elsewhere (request bodies); this parameter gets a copy
        schema = parameter["schema"] = inline_refs(document, schema)
    if isinstance(schema, dict) and "example" in schema:
        examples.append(schema.pop("example"))
    examples += [
        e.get("value") for e in parameter.pop("examples", {}).values() if isinstance(e, dict)
    ]
    if examples:
        note = EXAMPLE_NOTE.format(example=examples[0])
        description = parameter.get("description", "")
        parameter["description"] = f"{description} {note}".strip()
