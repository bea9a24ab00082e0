"""The list rule of the lifecycle state machine: filters, page sizes and walking every page.

With the scenario's own customer id as a filter (or a freshly reset sandbox), the model knows
exactly which records a list must return, so filters, `limit`, `has_more` and the page links
can all be checked to the record.
"""

import itertools
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from conformance.layers.lifecycle_inputs import pick, property_schema
from conformance.layers.lifecycle_model import known, same
from conformance.layers.lifecycle_plan import Violation
from conformance.paging import WALKERS, Step, WalkError, back_query
from conformance.records import items_from, value_in
from conformance.tally import tally_of
from kycspec.expressions import parse_time
from kycspec.model import Filter, Operation
from kycspec.paging import Paging
from kycspec.types import JSONObject

if TYPE_CHECKING:
    from conformance.layers.lifecycle_machine import LifecycleMachine

LIMITS = (None, 1, 2, 3)
COMPARE = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _filter_values(machine: "LifecycleMachine", op: Operation, flt: Filter) -> list[Any]:
    """The records' own values (so filters select something), else the declared enum."""
    shown = [machine.records[rid].get(flt.field) for rid in machine.live()]
    values = [v for v in dict.fromkeys(shown) if isinstance(v, str | int)]
    return values or list(property_schema(op, flt.param).get("enum", []))


def _matches(record: JSONObject, op: Operation, params: dict[str, Any]) -> bool | None:
    """Whether the model's record passes the list's filters (None: the model cannot tell)."""
    for flt in op.filters:
        if flt.param not in params:
            continue
        value = record.get(flt.field)
        if not known(value):
            return None
        wanted = params[flt.param]
        if property_schema(op, flt.param).get("format") == "date-time":
            value, wanted = parse_time(value), parse_time(wanted)
        elif flt.op == "eq":
            if not same(value, wanted) and str(value) != str(wanted):
                return False
            continue
        if value is None or not COMPARE[flt.op](value, wanted):
            return False
    return True


def filter_unit(op: Operation, flt: Filter) -> str:
    """How coverage names a filter of a list operation."""
    return f"{op.operation_id}?{flt.param}"


def discriminated(machine: "LifecycleMachine", op: Operation, params: dict[str, Any]) -> list[str]:
    """The filters this list showed to be applied: among the known records that pass the other
    filters, some pass this one and some do not (a filter that keeps all, or none, of the known
    records would look the same if the server ignored it)."""
    found = []
    for flt in op.filters:
        if flt.param not in params:
            continue
        others = {k: v for k, v in params.items() if k != flt.param}
        verdicts = set()
        for rid in machine.live():
            record = machine.records[rid]
            if _matches(record, op, others):
                verdicts.add(_matches(record, op, {flt.param: params[flt.param]}))
        if True in verdicts and False in verdicts:
            found.append(filter_unit(op, flt))
    return found


def _query(machine: "LifecycleMachine", op: Operation, data: st.DataObject) -> dict[str, Any]:
    params = _scoped(machine, op)
    # One more filter at most: each is then checked on its own, and pages stay full.
    others = [f for f in op.filters if f is not machine.plan.scope_filter(op)]
    flt = data.draw(st.sampled_from([None, *others]), label="filter") if others else None
    values = _filter_values(machine, op, flt) if flt is not None else []
    value = pick(data, [None, *values], "filter value")
    if flt is not None and value is not None:
        params[flt.param] = value
    paging = op.paging
    if paging and paging.limit_param:
        # Limits below the number of records, when there are some: pages to walk.
        fewer = [n for n in LIMITS if n is not None and n < len(machine.live())]
        limit = data.draw(st.sampled_from([None, *fewer] if fewer else LIMITS), label="limit")
        if limit is not None:
            params[paging.limit_param] = limit
    return params


def _scoped(machine: "LifecycleMachine", op: Operation) -> dict[str, Any]:
    scope = machine.plan.scope_filter(op)
    return {scope.param: machine.scope_value} if scope is not None else {}


def cover_filters(machine: "LifecycleMachine") -> None:
    """List once with each filter not yet shown to be applied, as soon as the known records
    split on one of its values (so each declared filter is covered whenever the data allows,
    not when the draws happen to pick that filter and value)."""
    tally = tally_of(machine.run.tallies, "list_filters_exact")
    if tally is None or not machine.listable:
        return
    for op in machine.plan.lists:
        params = _scoped(machine, op)
        queries = [params] + [
            {**params, flt.param: value}
            for flt in op.filters
            if flt.param not in params and filter_unit(op, flt) not in tally.covered
            for value in _filter_values(machine, op, flt)
        ]
        for query in queries:
            if set(discriminated(machine, op, query)) - tally.covered:
                check_list(machine, op, query)


def walk_list(machine: "LifecycleMachine", op: Operation, data: st.DataObject) -> None:
    """List with drawn filters and limit; walk every page; compare with the model."""
    check_list(machine, op, _query(machine, op, data))


def check_list(machine: "LifecycleMachine", op: Operation, params: dict[str, Any]) -> None:
    """List with `params`; walk every page; compare with the model."""
    paging = op.paging
    limit = params.get(paging.limit_param or "") if paging else None
    size = limit or (paging.default_limit if paging else None)
    machine.tick()
    seen, sizes, total = _walk(machine, op, params, size)
    id_field = machine.resource.id_field
    got = [item.get(id_field) for item in seen]
    if len(sizes) > 1:
        machine.ran("pagination_complete")
    if machine.deleted:
        gone = [rid for rid in got if rid in machine.deleted]
        if gone:
            raise Violation("deleted_records_gone", f"the list still shows deleted {gone}")
        machine.ran("deleted_records_gone")
    verdicts = {rid: _matches(machine.records[rid], op, params) for rid in machine.live()}
    expected = [rid for rid, ok in verdicts.items() if ok]
    unexpected = [rid for rid in got if rid not in verdicts or verdicts[rid] is False]
    missing = [rid for rid in expected if rid not in got]
    if unexpected:
        raise Violation("list_filters_exact", f"list {params} returned {unexpected}, not matching")
    if missing:
        full = len(sizes) > 1 or sizes[-1] == size
        check = "pagination_complete" if full else "list_filters_exact"
        raise Violation(check, f"list {params} left out {missing} ({len(sizes)} page(s))")
    for unit in discriminated(machine, op, params):
        machine.ran("list_filters_exact", unit)
    if paging and size is not None and len(expected) > size:
        machine.ran("limit_honoured")  # more matching records than fit on a page
    if total is not None and None not in verdicts.values() and total != len(expected):
        raise Violation(
            "pagination_complete", f"list {params} says {total} in total; expected {len(expected)}"
        )
    if limit is None and size is not None and None not in verdicts.values():
        wanted = min(size, len(expected))
        if sizes[0] != wanted:
            raise Violation(
                "limit_honoured",
                f"the first page without limit held {sizes[0]} records; expected {wanted} "
                f"(default limit {size})",
            )
    _check_order(machine, seen)
    for item in seen:
        rid = item.get(id_field)
        if rid in machine.records:
            machine.observe(op, rid, item, wrote=False)


def _check_order(machine: "LifecycleMachine", seen: list[JSONObject]) -> None:
    created = machine.resource.created_field
    skew = timedelta(seconds=machine.run.settings.clock_skew_s)
    moments = [parse_time(item[created]) for item in seen if created in item]
    for earlier, later in itertools.pairwise(moments):
        if later > earlier + skew:
            raise Violation("pagination_complete", "the list is not newest first")


def _needed_by(op: Operation, params: dict[str, Any]) -> tuple[str, ...]:
    """The list requirements besides `pagination_complete` that need this list's answers."""
    needed = ["list_filters_exact"] if any(f.param in params for f in op.filters) else []
    if op.paging:
        needed.append("limit_honoured")  # every page is held to the page size
    return tuple(needed)


def _walk(
    machine: "LifecycleMachine", op: Operation, params: dict[str, Any], size: int | None
) -> tuple[list[JSONObject], list[int], Any]:
    """Every page: the items in order, each page's size, and the first page's `$total`."""
    paging = op.paging
    query = dict(params)
    seen: list[JSONObject] = []
    ids: set[Any] = set()
    asked: list[dict[str, Any]] = []
    cap = len(machine.order) + 3
    sizes: list[int] = []
    total: Any = None
    previous: list[Any] = []
    id_field = machine.resource.id_field
    while True:
        asked.append(query)
        needed_by = _needed_by(op, params)
        exchange, document = machine.send(
            "pagination_complete", op, machine.path(op), params=query, needed_by=needed_by
        )
        if exchange.status != op.success_status:
            raise Violation("list_filters_exact", f"list {params} answered {exchange.status}")
        items = items_from(op, exchange)
        if items is None:
            raise Violation("pagination_complete", "the list response holds no list of records")
        sizes.append(len(items))
        pages = len(sizes)
        if size is not None and len(items) > size:
            raise Violation(
                "limit_honoured", f"page {pages} holds {len(items)} records; limit {size}"
            )
        for item in items:
            rid = item.get(machine.resource.id_field)
            if rid in ids:
                raise Violation("pagination_complete", f"{rid} shows up twice (page {pages})")
            ids.add(rid)
            seen.append(item)
        if pages == 1:
            _, total = value_in(op, document, "$total")
        more, cursor = _more(op, document, len(seen), total, len(items) == size)
        if not more or paging is None or paging.style is None:
            if paging is not None and pages > 1:
                _walk_back(machine, op, paging, query, items, previous)
            return seen, sizes, total
        if not items:
            raise Violation("pagination_complete", f"page {pages} is empty but has_more is true")
        if pages >= cap:
            raise Violation("pagination_complete", f"more than {cap} pages for {len(ids)} records")
        previous = [item.get(id_field) for item in items]
        try:
            query = WALKERS.get(paging.style)(Step(paging, query, items, id_field, cursor))
        except WalkError as exc:
            raise Violation("pagination_complete", f"page {pages}: {exc}") from None
        if query in asked:
            raise Violation("pagination_complete", f"page {pages} leads back to {query}")


def _more(op: Operation, document: Any, seen: int, total: Any, full: bool) -> tuple[bool, Any]:
    """Whether more pages follow, and the next cursor: from `$has_more`, else `$next_cursor`,
    else `$total` (page-number lists), else a full page (a short one is the last)."""
    has_flag, more = value_in(op, document, "$has_more")
    has_cursor, cursor = value_in(op, document, "$next_cursor")
    if has_flag:
        return bool(more), cursor
    if has_cursor:
        return cursor is not None, cursor
    if isinstance(total, int):
        return seen < total, None
    return full, None


def _walk_back(
    machine: "LifecycleMachine",
    op: Operation,
    paging: Paging,
    query: dict[str, Any],
    items: list[JSONObject],
    previous: list[Any],
) -> None:
    """`ending_before` the last page's first record must give the page before it again."""
    if not items:
        return
    id_field = machine.resource.id_field
    back = back_query(paging, query, items[0].get(id_field))
    if back is None:
        return
    exchange, _ = machine.send("pagination_complete", op, machine.path(op), params=back)
    got = [item.get(id_field) for item in items_from(op, exchange) or []]
    if exchange.status != op.success_status or got != previous:
        raise Violation(
            "pagination_complete",
            f"walking back with {back} answered {exchange.status} {got}; expected {previous}",
        )
