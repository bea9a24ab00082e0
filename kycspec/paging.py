"""Paging styles: how a list operation moves between pages (`x-page` on its query parameters).

One registered `PagingStyle` per marker (`PAGING_STYLES`); the mock pages with it
(`mockserver.paging`) and the conformance suite walks with it (`conformance.paging`):

- `limit`: the page size (its schema's `default` and `maximum` are the rules);
- `starting_after`: the last id of the previous page (Stripe);
- `ending_before`: the first id of the next page, walking back towards newer records (Stripe);
- `cursor`: the previous page's opaque `$next_cursor` (Kontorion);
- `page`: a 1-based page number (Onfido's `page` and `per_page`);
- `offset`: how many records to skip (Sumsub's `offset`).

A list without a moving marker answers its first page only.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from kycspec.registry import Registry


@dataclass(frozen=True)
class PagingStyle:
    """One `x-page` marker. An implementer registers it here and must also:

    - register a pager of the same name in `mockserver.paging.PAGERS` (the page it answers);
    - register a walker of the same name in `conformance.paging.WALKERS` (the next request);
    - say whether it moves `forward` (to older records) or is the `limit` or a backward move.
    """

    name: str
    role: str  # "size", "forward" or "backward"
    token: bool  # its value names a record or a server-issued cursor (not a number)


PAGING_STYLES: Registry[PagingStyle] = Registry("paging style")
for _style in (
    PagingStyle("limit", "size", token=False),
    PagingStyle("starting_after", "forward", token=True),
    PagingStyle("ending_before", "backward", token=True),
    PagingStyle("cursor", "forward", token=True),
    PagingStyle("page", "forward", token=False),
    PagingStyle("offset", "forward", token=False),
):
    PAGING_STYLES.register(_style.name, _style)


@dataclass(frozen=True)
class Paging:
    """How a list operation pages: its size parameter and its ways to other pages."""

    limit_param: str | None
    default_limit: int
    max_limit: int | None
    style: str | None  # the forward marker, or None (first page only)
    page_param: str | None  # the forward marker's parameter
    moves: Mapping[str, str] = field(default_factory=dict)  # every moving marker: its parameter

    @property
    def token_params(self) -> tuple[str, ...]:
        """Parameters whose values the server issues (ids, cursors): a made-up one is a 400."""
        return tuple(p for m, p in self.moves.items() if PAGING_STYLES.get(m).token)


def compile_paging(parameters: list[Mapping[str, object]]) -> Paging | None:
    """The paging of a list from its parameters' `x-page` markers (ValueError if unsound)."""
    marked: dict[str, Mapping[str, object]] = {}
    for param in parameters:
        if "x-page" not in param:
            continue
        marker = str(param["x-page"])  # a registered style: kycspec.vocabulary
        if marker in marked:
            raise ValueError(f"x-page {marker!r} marks two parameters")
        marked[marker] = param
    if not marked:
        return None
    limit = marked.pop("limit", None)
    schema = limit.get("schema", {}) if limit else {}
    if not isinstance(schema, Mapping):
        raise ValueError("the x-page: limit parameter needs a schema")
    if limit and "default" not in schema:
        raise ValueError(f"the x-page: limit parameter {limit['name']!r} needs a default")
    forward = [m for m in marked if PAGING_STYLES.get(m).role == "forward"]
    if len(forward) > 1:
        raise ValueError(f"one forward x-page marker per list, found {', '.join(forward)}")
    style = forward[0] if forward else None
    maximum = schema.get("maximum")
    return Paging(
        limit_param=str(limit["name"]) if limit else None,
        default_limit=int(str(schema.get("default", 0))),
        max_limit=int(str(maximum)) if maximum is not None else None,
        style=style,
        page_param=str(marked[style]["name"]) if style else None,
        moves={marker: str(param["name"]) for marker, param in marked.items()},
    )
