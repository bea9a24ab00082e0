"""Local references (`#/a/b`) inside one bundled document."""

from typing import Any

MAX_HOPS = 32


def follow_refs(document: Any, node: Any) -> Any:
    """The node a `$ref` points at, followed through chains of references (RFC 6901 pointers).

    A node without `$ref` is returned as it is; a chain longer than `MAX_HOPS` (a reference
    cycle) stops there.
    """
    for _ in range(MAX_HOPS):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            break
        target: Any = document
        for token in node["$ref"].removeprefix("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
