"""The suite's walkers: from one page of a list, the query that asks for the next one.

One walker per forward `x-page` marker (`kycspec.paging.PAGING_STYLES`), so the lifecycle
layer walks every paging style a spec declares; `ending_before` is checked by walking back
(`back_query`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kycspec.paging import Paging
from kycspec.registry import Registry
from kycspec.types import JSONObject


@dataclass(frozen=True)
class Step:
    """What a walker sees of the page just read."""

    paging: Paging
    query: dict[str, Any]  # the query that asked for it
    items: list[JSONObject]
    id_field: str
    next_cursor: Any  # the body's `$next_cursor`, if its template has one


class WalkError(ValueError):
    """The page gives no way to the next one (a missing or repeated cursor)."""


Walker = Callable[[Step], dict[str, Any]]
"""A walker answers one forward marker. An implementer must:

- register under the marker's name in `WALKERS` (and declare it in `PAGING_STYLES`);
- return the query for the next page, from the page just read and the query that asked for it;
- raise `WalkError` when the page offers no way forward although it says more follow.
"""
WALKERS: Registry[Walker] = Registry("walker")


def _param(step: Step) -> str:
    return step.paging.page_param or ""


@WALKERS.decorator()
def starting_after(step: Step) -> dict[str, Any]:
    return {**step.query, _param(step): step.items[-1].get(step.id_field)}


@WALKERS.decorator()
def cursor(step: Step) -> dict[str, Any]:
    if not isinstance(step.next_cursor, str) or not step.next_cursor:
        raise WalkError(f"next cursor {step.next_cursor!r}")
    return {**step.query, _param(step): step.next_cursor}


@WALKERS.decorator()
def page(step: Step) -> dict[str, Any]:
    return {**step.query, _param(step): int(step.query.get(_param(step), 1)) + 1}


@WALKERS.decorator()
def offset(step: Step) -> dict[str, Any]:
    skipped = int(step.query.get(_param(step), 0))
    return {**step.query, _param(step): skipped + len(step.items)}


def back_query(paging: Paging, query: dict[str, Any], first_id: Any) -> dict[str, Any] | None:
    """The query for the page before one whose first record is `first_id` (`ending_before`)."""
    param = paging.moves.get("ending_before")
    if param is None:
        return None
    forward = {k: v for k, v in query.items() if k != paging.page_param}
    return {**forward, param: first_id}
