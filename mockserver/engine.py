"""The one generic engine: every operation of every spec is handled by its role.

The role (`create`, `list`, `read`, `update`, `delete`, `transition`) and everything it needs
(resource, lifecycle, filters, paging, magic values, response template) come from the spec.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import orjson
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kycspec.expressions import EARLIEST, LATEST, Context, format_time, parse_time, split_path
from kycspec.headers import header_fields
from kycspec.idformat import generate_id
from kycspec.model import ApiSpec, Feed, Filter, Operation, Resource
from kycspec.types import JSON, JSONObject
from kycspec.updates import UPDATE_SEMANTICS

# Hooks register on import, and run in that order: a feed records a change, and its webhooks
# are written, before the cascade it causes moves the children.
from mockserver import feeds

# isort: split
from mockserver import webhook_events

# isort: split
from mockserver import cascade, errors
from mockserver.fixtures import FixtureError
from mockserver.formats import FULL_DATE
from mockserver.hooks import RECORD_HOOKS, VIA_CLOCK, VIA_CREATE, VIA_OPERATION, Entered
from mockserver.idempotency import fingerprint, recall, remember
from mockserver.lifecycle import (
    check_transition,
    check_writable,
    enter,
    run_clock,
    schedule_clock,
)
from mockserver.outbox import Outbox
from mockserver.paging import PAGERS, PageRequest, count
from mockserver.projection import project
from mockserver.sandbox import Caller
from mockserver.store import Collection, Predicate, Store, StoreConflict

T = TypeVar("T")
MAX_ATTEMPTS = 50  # runs of one request that lost write races before it answers 503


@dataclass
class MockRequest:
    """A validated request, as the engine sees it."""

    caller: Caller
    path: Mapping[str, Any] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


def _no_writes() -> None:
    return None


@dataclass(frozen=True)
class MockResponse:
    """What the engine answers: a status, a JSON body (or none), and `commit`, which applies
    the request's writes to the store.

    A role changes nothing itself: `Engine.handle` calls `commit` once the response is ready
    to send (encoded, and validated where that is on), with no await in between, so a request
    that fails at any step leaves the store as it was, and no other request sees a half-done
    one. `commit` encodes each record before it writes any, so nothing the store holds can
    fail a later read.
    """

    status: int
    body: JSON = None
    commit: Callable[[], None] = _no_writes
    headers: Mapping[str, str] = field(default_factory=dict)  # declared response headers


def _storable(record: JSONObject) -> JSONObject:
    """The record, once it is known to encode as JSON (raises `orjson.JSONEncodeError`)."""
    orjson.dumps(record)
    return record


# Record hooks that register themselves on import (see mockserver.hooks), in order.
RECORD_HOOK_MODULES = (feeds, webhook_events, cascade)


def _canonical_times(times: frozenset[str], record: JSONObject) -> JSONObject:
    """The record with its `date-time` fields (`times`, `_fields_of`) in the stored spelling
    (RFC 3339, UTC, whole seconds), so stored times compare as strings the way list filters
    compare them.

    The values were validated already (`mockserver.formats`): `parse_time` reads them.
    """
    for key in times:
        value = record.get(key)
        if isinstance(value, str):
            record[key] = format_time(parse_time(value), "rfc3339")
    return record


def _fields_of(resource: Resource, test: Callable[[JSONObject], bool]) -> frozenset[str]:
    """The names of the resource's properties whose schema passes `test`."""
    properties = resource.schema.get("properties", {})
    return frozenset(key for key, schema in properties.items() if test(schema))


def _whole_second(moment: datetime, kind: str) -> datetime:
    """A filter's moment in whole seconds, as times are stored: a lower bound `gte` or upper
    bound `lt` with a fraction moves to the next second, any other drops the fraction.

    Raises OverflowError past the last representable second."""
    if moment.microsecond and kind in ("gte", "lt"):
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


def _filter_moment(value: Any) -> datetime:
    """A date filter's value as a moment: an RFC 3339 `full-date` is midnight UTC; Unix seconds
    past the years a date-time can hold (1-9999), which a `type: integer` parameter allows, are
    the first or last moment, beyond every record; otherwise what `parse_time` reads (Unix
    seconds, an RFC 3339 date-time). Raises ValueError."""
    if isinstance(value, str) and FULL_DATE.fullmatch(value):
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value > LATEST.timestamp():
            return LATEST
        if value < EARLIEST.timestamp():
            return EARLIEST
    return parse_time(value)


READS_TIME = "date-time"  # a filter whose parameter is an RFC 3339 date-time
READS_MOMENT = "moment"  # a date filter, or any filter of a timestamp field (`_filter_moment`)


def _reading(op: Operation, flt: Filter) -> str | None:
    """How a list filter reads its value: `READS_TIME`, `READS_MOMENT`, or as it is (None).

    A `date-time` parameter is an RFC 3339 date-time; a `date` parameter, or any value
    filtering a timestamp field, is compared as a moment: `2024-01-15` against a Unix-seconds
    `created` field is midnight UTC.
    """
    schema: JSONObject = next(
        (p.get("schema", {}) for p in op.parameters if p["name"] == flt.param), {}
    )
    resource = op.resource
    if schema.get("format") == "date-time":
        return READS_TIME
    if schema.get("format") == "date" or flt.field in (
        resource.created_field,
        resource.updated_field,
    ):
        return READS_MOMENT
    return None


def _filter_time(resource: Resource, flt: Filter, reading: str, value: Any) -> JSON:
    """A time filter's value in the stored format, whole seconds (`_whole_second`).

    Raises `errors.InvalidRequest` naming the parameter for a `READS_TIME` value that is not
    an RFC 3339 date-time within range (`kycspec.expressions.parse_time`), and for a
    `READS_MOMENT` value that is no date, date-time or Unix seconds.
    """
    if reading == READS_TIME:
        try:
            return format_time(_whole_second(parse_time(value), flt.op), resource.time_format)
        except (ValueError, OverflowError):
            raise errors.InvalidRequest(
                errors.TIME_INVALID.format(
                    name=f"The parameter {errors.shown(flt.param)}", value=errors.shown(value)
                )
            ) from None
    try:
        return format_time(_whole_second(_filter_moment(value), flt.op), resource.time_format)
    except (ValueError, OverflowError):
        raise errors.InvalidRequest(
            errors.BAD_TIME_FILTER.format(param=flt.param, value=value)
        ) from None


class Engine:
    """Handles the operations of one API against the store."""

    def __init__(self, spec: ApiSpec, store: Store, admin_prefix: str = "admin_"):
        self.spec = spec
        self.store = store
        self.outbox: Outbox | None = None  # where the webhook events of changes go
        self._admin_only = errors.ADMIN_ONLY.format(admin_prefix=admin_prefix)
        self._indexed = {name: self._indexed_fields(name) for name in spec.resources}
        self._partitions = {
            name: [split_path(path) for path in resource.partition]
            for name, resource in spec.resources.items()
        }
        # resources whose lifecycle the clock moves: only these have due transitions to run
        self._clocked = {
            name
            for name, resource in spec.resources.items()
            if resource.lifecycle is not None and resource.lifecycle.clock_transitions
        }
        self._children = {name: spec.children_of(name) for name in spec.resources}
        self._feeds = {
            name: [(r, r.feed) for r in spec.resources.values() if r.feed and name in r.feed.of]
            for name in spec.resources
        }
        # per resource: the `date-time` fields, and those a request may write (not read-only)
        self._times = {
            name: _fields_of(resource, lambda schema: schema.get("format") == "date-time")
            for name, resource in spec.resources.items()
        }
        self._writable = {
            name: _fields_of(resource, lambda schema: not schema.get("readOnly"))
            for name, resource in spec.resources.items()
        }
        self._caller_owned = {
            name: _caller_owned(resource) for name, resource in spec.resources.items()
        }
        self._validators = {
            name: OAS30Validator(resource.schema, format_checker=oas30_format_checker)
            for name, resource in spec.resources.items()
        }
        # how each list filter reads its value (`_reading`)
        self._filters = {
            op.operation_id: tuple((flt, _reading(op, flt)) for flt in op.filters)
            for op in spec.operations.values()
        }
        # lists whose response shows `$total`: counting every match costs a scan
        self._totals = {
            op.operation_id
            for op in spec.operations.values()
            if "$total" in str(op.raw.get("x-operation", {}).get("response"))
        }
        self._roles: dict[str, Callable[[Operation, MockRequest, Context], MockResponse]] = {
            "create": self._create,
            "list": self._list,
            "read": self._read,
            "update": self._update,
            "delete": self._delete,
            "transition": self._transition,
        }

    def _indexed_fields(self, resource: str) -> set[str]:
        """Fields worth an index: equality filters, lookups and the status field."""
        fields: set[str] = set()
        for op in self.spec.operations_of(resource):
            fields |= {f.field for f in op.filters if f.op == "eq"}
            if op.lookup:
                fields.add(op.lookup.field)
        status = self.spec.resources[resource].status_field
        if status:
            fields.add(status)
        return fields

    def handle(self, op: Operation, request: MockRequest, ready: Callable[[MockResponse], T]) -> T:
        """Answer one request: `ready` turns the engine's answer into what is sent (encoded,
        validated), and only then are the request's writes committed, so a request that fails
        at any step, `ready` included, changes nothing.

        A shared store refuses a write that lost a race with another process
        (`StoreConflict`); the request then runs again on the state that won, up to
        `MAX_ATTEMPTS` times, and a request that still cannot write gets 503."""
        if op.admin and not request.caller.admin:
            raise errors.Forbidden(self._admin_only)
        for _ in range(MAX_ATTEMPTS):
            try:
                result = self._handle_once(op, request)
                answer = ready(result)
                result.commit()
                return answer
            except StoreConflict:
                continue
        raise errors.error_for(503, errors.STORE_BUSY, {"Retry-After": "1"})

    def _handle_once(self, op: Operation, request: MockRequest) -> MockResponse:
        ctx = Context(
            now=self.store.clock(request.caller.sandbox).now(),
            time_format=op.resource.time_format,
            values={
                "body": request.body,
                "path": request.path,
                "query": request.query,
                "header": request.headers,
                "auth": request.caller,
            },
        )
        if op.resource.parent is not None:
            self._check_parent(op, request.caller, ctx)
        header = self.spec.idempotency_header
        key = request.headers.get(header.lower()) if header and op.method != "GET" else None
        if not key:
            return self._roles[op.role](op, request, ctx)
        print_ = fingerprint(op, request.path, request.query, request.body)
        kept = (self.store, self.spec.name, request.caller.sandbox, key, print_)
        stored = recall(*kept, reused_status=self.spec.errors.status("idempotency_key_reused"))
        if stored is not None:  # the first answer again; nothing is written
            status, body, fields = stored
            return MockResponse(status, body, headers=fields)
        response = self._roles[op.role](op, request, ctx)
        first = response.commit

        def commit() -> None:
            first()
            remember(*kept, (response.status, response.body, dict(response.headers)))

        return replace(response, commit=commit)

    def _check_parent(self, op: Operation, caller: Caller, ctx: Context) -> None:
        """The parent named in the path must exist for the caller, and allow child writes."""
        parent = op.resource.parent
        if parent is None:
            return
        owner = self.spec.resources[parent.resource]
        collection = self.collection(caller, owner, ctx)
        self.run_due(owner, collection, ctx, caller.sandbox)
        parent_id = ctx.lookup("path", (parent.param,))
        record = collection.get(str(parent_id))
        if record is None:
            raise errors.NotFound(errors.RECORD_NOT_FOUND.format(resource=owner.name, id=parent_id))
        state = record.get(owner.status_field or "")
        writes = op.role not in ("read", "list")
        if writes and parent.writable_in and state not in parent.writable_in:
            raise errors.GuardRefused(
                errors.PARENT_STATE_REFUSED.format(
                    resource=op.resource.name,
                    parent=owner.name,
                    state=state,
                    allowed=", ".join(parent.writable_in),
                ),
                status=owner.lifecycle.refused_status if owner.lifecycle else 409,
            )
        if writes:
            check_writable(owner, record)

    # -- record events --------------------------------------------------------------------

    def entered(self, event: Entered) -> None:
        """Run every record hook (`mockserver.hooks.RECORD_HOOKS`) for a state entered.

        The children's due clock transitions come first: they happened before the parent moved.
        """
        parent_id = str(event.record.get(event.resource.id_field))
        for child in self.children(event.resource.name):
            partition = (*event.partition, parent_id)
            collection = self.collection_for(event.sandbox, child, partition)
            self.run_due(child, collection, event.ctx, event.sandbox, partition)
        for hook in RECORD_HOOKS:
            hook(event)

    def _entered(
        self, op: Operation, request: MockRequest, record: JSONObject, ctx: Context, via: str
    ) -> None:
        lifecycle = op.resource.lifecycle
        if lifecycle is None:
            return
        partition = self.partition_of(op.resource, ctx)
        state = str(record.get(lifecycle.field))
        self.entered(
            Entered(self, request.caller.sandbox, op.resource, partition, record, state, ctx, via)
        )

    def _hooks(
        self, op: Operation, request: MockRequest, record: JSONObject, ctx: Context, via: str
    ) -> Callable[[], None]:
        """What a write's `commit` runs after its own write: the record hooks of the state the
        record entered (a feed entry, webhook deliveries, a cascade to children)."""
        return lambda: self._entered(op, request, record, ctx, via)

    def children(self, resource: str) -> list[Resource]:
        """The resources declared with `parent: {resource: <resource>}`."""
        return self._children[resource]

    def feeds(self, resource: str) -> list[tuple[Resource, Feed]]:
        """The feeds (`records`) that record the state changes of the resource."""
        return self._feeds[resource]

    def store_new(self, sandbox: str, resource: Resource, record: JSONObject, ctx: Context) -> None:
        """Store a new record made by the server (a feed entry): timestamps, derived fields."""
        record[resource.created_field] = format_time(ctx.now, resource.time_format)
        self._finish(resource, record, ctx)
        self.collection_for(sandbox, resource, ()).insert(record)

    def store_changed(
        self,
        sandbox: str,
        resource: Resource,
        partition: tuple[str, ...],
        collection: Collection,
        record: JSONObject,
        ctx: Context,
    ) -> None:
        """Store a changed version of a record (derived fields and update time refreshed)."""
        self._finish(resource, record, ctx)
        collection.replace(record)
        schedule_clock(resource, collection, record)

    # -- state access ---------------------------------------------------------------------

    def partition_of(self, resource: Resource, ctx: Context) -> tuple[str, ...]:
        """The request's partition of the resource (tenant, parent id)."""
        paths = self._partitions[resource.name]
        if not paths:
            return ()
        return tuple(str(ctx.lookup(root, keys) or "") for root, keys in paths)

    def collection(self, caller: Caller, resource: Resource, ctx: Context) -> Collection:
        """The caller's collection of the resource, in the request's partition (tenant)."""
        return self.collection_for(caller.sandbox, resource, self.partition_of(resource, ctx))

    def collection_for(
        self, sandbox: str, resource: Resource, partition: tuple[str, ...]
    ) -> Collection:
        key = (self.spec.name, resource.name, partition)
        return self.store.collection(sandbox, key, resource.id_field, self._indexed[resource.name])

    def _records(self, op: Operation, request: MockRequest, ctx: Context) -> Collection:
        collection = self.collection(request.caller, op.resource, ctx)
        self.run_due(op.resource, collection, ctx, request.caller.sandbox)
        return collection

    def sweep(self, sandbox: str) -> None:
        """Apply the due clock transitions of every record of the sandbox (a clock moved on
        the control plane, or time passing, fires them without waiting for a request)."""
        now = self.store.clock(sandbox).now()
        for (api, name, partition), collection in self.store.collections(sandbox):
            resource = self.spec.resources.get(name) if api == self.spec.name else None
            if resource is not None and resource.lifecycle and resource.lifecycle.clock_transitions:
                ctx = Context(now=now, time_format=resource.time_format)
                self.run_due(resource, collection, ctx, sandbox, tuple(partition))

    def run_due(
        self,
        resource: Resource,
        collection: Collection,
        ctx: Context,
        sandbox: str,
        partition: tuple[str, ...] | None = None,
    ) -> None:
        """Apply the clock transitions that are due in the collection, with their hooks."""
        lifecycle = resource.lifecycle
        if lifecycle is None or resource.name not in self._clocked:
            return
        partition = partition if partition is not None else self.partition_of(resource, ctx)
        for record, own in run_clock(resource, collection, ctx):
            state = str(record.get(lifecycle.field))
            self.entered(Entered(self, sandbox, resource, partition, record, state, own, VIA_CLOCK))

    def _find(self, op: Operation, ctx: Context, collection: Collection) -> JSONObject:
        resource = op.resource
        if op.lookup is not None:
            root, keys = op.lookup.source
            value = ctx.lookup(root, keys)
            record = collection.newest(op.lookup.field, value)
            if record is None:
                raise errors.NotFound(
                    errors.LOOKUP_NOT_FOUND.format(
                        resource=resource.name, field=op.lookup.field, value=value
                    )
                )
            return record
        record_id = ctx.lookup("path", (op.path_param or "",))
        record = collection.get(str(record_id))
        if record is None:
            raise errors.NotFound(
                errors.RECORD_NOT_FOUND.format(resource=resource.name, id=record_id)
            )
        return record

    # -- writing records ------------------------------------------------------------------

    def _stored_fields(self, resource: Resource, values: Mapping[str, Any]) -> JSONObject:
        """The request values that are fields of the stored record (read-only ones excluded)."""
        writable = self._writable[resource.name]
        fields = {key: value for key, value in values.items() if key in writable}
        return _canonical_times(self._times[resource.name], fields)

    def _apply_magic(self, op: Operation, ctx: Context) -> JSONObject:
        values: JSONObject = {}
        for magic in op.magic:
            if magic.when(ctx):
                values.update({key: value(ctx) for key, value in magic.set.items()})
        return values

    def _finish(self, resource: Resource, record: JSONObject, ctx: Context) -> None:
        """Derived fields and the update timestamp, the last step of every write."""
        ctx.values["record"] = record
        for key, value in resource.derived.items():
            record[key] = value(ctx)
        record[resource.updated_field] = format_time(ctx.now, resource.time_format)

    def _respond(
        self, op: Operation, ctx: Context, commit: Callable[[], None] = _no_writes, **values: JSON
    ) -> MockResponse:
        """The success answer, its body and headers seeing `values` (`$record`, `$items`),
        with the request's writes (`commit`)."""
        ctx.values.update(values)
        fields = header_fields(op.headers.get(op.success_status, ()), ctx)
        if op.response is None:
            return MockResponse(op.success_status, commit=commit, headers=fields)
        body = project(op.response(ctx), op.success_schema)
        return MockResponse(op.success_status, body, commit, fields)

    # -- roles ----------------------------------------------------------------------------

    def _create(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        resource = op.resource
        collection = self._records(op, request, ctx)
        given = {
            **self._stored_fields(resource, request.path),
            **resource.parent_field(request.path),
            **self._stored_fields(resource, request.body or {}),
        }
        initial = resource.lifecycle.initial if resource.lifecycle else ()
        record = self._new_record(
            resource, ctx, given, op.set, lambda: self._apply_magic(op, ctx), initial
        )

        entered = self._hooks(op, request, record, ctx, VIA_CREATE)

        def commit() -> None:
            collection.insert(_storable(record))
            schedule_clock(resource, collection, record)
            entered()

        return self._respond(op, ctx, commit, record=record)

    def _new_record(
        self,
        resource: Resource,
        ctx: Context,
        given: JSONObject,
        set_values: Mapping[str, Callable[[Context], Any]],
        magic: Callable[[], JSONObject],
        states: tuple[str, ...],
    ) -> JSONObject:
        """A new record as every create makes it, in this order: a fresh id, the resource's
        defaults, the `given` fields, the operation's `set`, the creation time, the magic values
        and the lifecycle state (given, else `Lifecycle.start_state`; one of `states`) with its
        on-enter fields, then derived fields and the update time.

        Raises `InvalidRequest` for a state outside `states`.
        """
        lifecycle = resource.lifecycle
        record: JSONObject = {resource.id_field: generate_id(resource.id_format)}
        ctx.values["record"] = record
        record.update({key: value(ctx) for key, value in resource.defaults.items()})
        record.update(given)
        record.update({key: value(ctx) for key, value in set_values.items()})
        record[resource.created_field] = format_time(ctx.now, resource.time_format)
        chosen = magic()
        if lifecycle is not None:
            state = chosen.pop(lifecycle.field, None) or record.get(lifecycle.field)
            state = state or lifecycle.start_state(ctx)
            if state not in states:
                raise errors.InvalidRequest(
                    errors.INITIAL_STATE_REFUSED.format(
                        resource=resource.name, state=state, allowed=", ".join(states)
                    )
                )
            enter(lifecycle, record, state, ctx)
        record.update(chosen)
        self._finish(resource, record, ctx)
        return record

    def _list(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        collection = self._records(op, request, ctx)
        predicates: list[Predicate] = []
        for flt, reading in self._filters[op.operation_id]:
            value = request.query.get(flt.param)
            if value is None:
                continue
            if reading is not None:
                value = _filter_time(op.resource, flt, reading, value)
            predicates.append((flt.field, flt.op, value))
        paging = op.paging
        limit = 10 if paging is None else paging.default_limit
        style, value = (paging.style if paging else None) or "first", None
        if paging is not None:
            if paging.limit_param and request.query.get(paging.limit_param) is not None:
                limit = int(request.query[paging.limit_param])
            given = [(m, p) for m, p in paging.moves.items() if request.query.get(p) is not None]
            if given:  # several moves: the first declared wins (every one is schema-valid)
                style, param = given[0]
                value = str(request.query[param])
        page = PAGERS.get(style)(PageRequest(collection, predicates, limit, value))
        total = count(collection, predicates) if op.operation_id in self._totals else None
        return self._respond(
            op,
            ctx,
            items=page.items,
            has_more=page.has_more,
            next_cursor=page.next_cursor,
            total=total,
            page=page.number,
            limit=limit,
        )

    def _read(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        record = self._find(op, ctx, self._records(op, request, ctx))
        return self._respond(op, ctx, record=record)

    def _delete(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        collection = self._records(op, request, ctx)
        record = self._find(op, ctx, collection)
        check_writable(op.resource, record)

        def commit() -> None:
            collection.delete(record[op.resource.id_field])

        return self._respond(op, ctx, commit, record=record)

    def _update(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        resource = op.resource
        collection = self._records(op, request, ctx)
        record = dict(self._find(op, ctx, collection))
        check_writable(resource, record)
        ctx.values["record"] = record
        changes = self._stored_fields(resource, request.body or {})
        lifecycle = resource.lifecycle
        target = changes.pop(lifecycle.field, None) if lifecycle else None
        record = UPDATE_SEMANTICS.get(op.update)(record, changes)
        ctx.values["record"] = record
        record.update({key: value(ctx) for key, value in op.set.items()})
        moved = False
        if lifecycle is not None and target is not None and target != record[lifecycle.field]:
            check_transition(resource, record[lifecycle.field], target, op.operation_id, ctx)
            enter(lifecycle, record, target, ctx)
            moved = True
        then = self._hooks(op, request, record, ctx, VIA_OPERATION) if moved else _no_writes
        return self._save(op, collection, record, ctx, then=then)

    def _transition(self, op: Operation, request: MockRequest, ctx: Context) -> MockResponse:
        resource = op.resource
        lifecycle = resource.lifecycle
        if lifecycle is None:
            raise errors.InternalError(f"{op.operation_id}: the resource has no lifecycle")
        collection = self._records(op, request, ctx)
        record = dict(self._find(op, ctx, collection))
        ctx.values["record"] = record
        source = record[lifecycle.field]
        magic = self._apply_magic(op, ctx)
        target = magic.pop(lifecycle.field, None)
        if target is None:
            field_name = op.target_field
            target = (request.body or {}).get(field_name) if field_name else op.target
        check_writable(resource, record, (op.operation_id, str(target)))
        check_transition(resource, source, str(target), op.operation_id, ctx)
        changes = self._stored_fields(resource, request.body or {})
        changes.pop(lifecycle.field, None)
        record.update(changes)
        item = self._collect(op, record, ctx)
        record.update({key: value(ctx) for key, value in op.set.items()})
        enter(lifecycle, record, str(target), ctx)
        record.update(magic)
        shown = {op.collect.as_field: item} if op.collect and op.collect.as_field else {}
        then = self._hooks(op, request, record, ctx, VIA_OPERATION)
        return self._save(op, collection, record, ctx, shown, then)

    def _collect(self, op: Operation, record: JSONObject, ctx: Context) -> JSONObject | None:
        if op.collect is None:
            return None
        item = op.collect.item(ctx)
        into = dict(record.get(op.collect.into) or {})
        into[str(op.collect.key(ctx))] = item
        record[op.collect.into] = into
        return item  # type: ignore[no-any-return]

    def _save(
        self,
        op: Operation,
        collection: Collection,
        record: JSONObject,
        ctx: Context,
        shown: JSONObject | None = None,
        then: Callable[[], None] = _no_writes,
    ) -> MockResponse:
        """The answer to a write of a changed record, whose `commit` stores it and then runs
        `then` (the hooks of a state it entered)."""
        self._finish(op.resource, record, ctx)

        def commit() -> None:
            collection.replace(_storable(record))
            schedule_clock(op.resource, collection, record)
            then()

        # The response view is built after `_finish`, so it shows the derived fields and the
        # update time of this write (a document upload's `documentsSubmitted`), not the old ones.
        shown_record = {**record, **shown} if shown else record
        return self._respond(op, ctx, commit, record=shown_record)

    # -- sandbox data ---------------------------------------------------------------------

    def seed(
        self, caller: Caller, resource_name: str, given: JSONObject, partition: Mapping[str, str]
    ) -> tuple[JSONObject, Callable[[], None]]:
        """A record (a fixture or an imported one) for the caller's sandbox, as a create by
        `caller` would store it (`_new_record`: the same server fields), and the `commit` that
        puts it there (the collection is looked up then, so a sandbox reset in between is no
        matter); the record's own values win, in any state of the lifecycle, except for fields
        the server takes from the caller (`$auth` defaults of read-only fields, such as an
        organization), which must be left out or equal.

        Raises `FixtureError` naming the field when the resource is unknown, a caller-owned
        field conflicts, or the record breaks its schema.
        """
        resource = self.spec.resources.get(resource_name)
        if resource is None:
            known = ", ".join(self.spec.resources)
            raise FixtureError(f"{self.spec.name} has no resource {resource_name!r} ({known})")
        ctx = Context(
            now=self.store.clock(caller.sandbox).now(),
            time_format=resource.time_format,
            values={"auth": caller},
        )
        for key in self._caller_owned[resource.name]:
            expected = resource.defaults[key](ctx)
            if key in given and given[key] != expected:
                raise FixtureError(
                    errors.FIXTURE_CALLER_OWNED.format(
                        resource=resource_name,
                        field=key,
                        value=given[key],
                        expected=expected,
                        sandbox=caller.sandbox,
                    )
                )
        _refuse_unknown_fields(resource, given)
        lifecycle = resource.lifecycle
        try:
            record = self._new_record(
                resource, ctx, given, {}, dict, lifecycle.states if lifecycle else ()
            )
        except errors.InvalidRequest as exc:
            field_name = lifecycle.field if lifecycle else resource.id_field
            raise FixtureError(
                errors.FIXTURE_FIELD.format(
                    resource=resource_name, field=field_name, problem=exc.detail
                )
            ) from exc
        record.update(given)
        problems = sorted(self._validators[resource.name].iter_errors(record), key=str)
        if problems:
            raise FixtureError(
                errors.FIXTURE_FIELD.format(
                    resource=resource_name,
                    field=_field_of(problems[0]),
                    problem=problems[0].message,
                )
            )
        record = _canonical_times(self._times[resource.name], record)
        if set(partition) != set(resource.partition) or not all(partition.values()):
            raise FixtureError(
                errors.FIXTURE_PARTITION.format(
                    resource=resource_name, expected=", ".join(resource.partition) or "none"
                )
            )
        values = tuple(str(partition[path]) for path in resource.partition)
        try:
            _storable(record)
        except orjson.JSONEncodeError as exc:
            raise FixtureError(f"{resource_name} record cannot be stored as JSON: {exc}") from exc

        def commit() -> None:
            collection = self.collection_for(caller.sandbox, resource, values)
            collection.insert(record)
            schedule_clock(resource, collection, record)

        return record, commit

    def export(self, sandbox: str) -> list[tuple[str, Mapping[str, str], JSONObject]]:
        """Every record of this API in the sandbox: (resource, partition, record), oldest first."""
        found: list[tuple[str, Mapping[str, str], JSONObject]] = []
        for (api, name, values), collection in self.store.collections(sandbox):
            if api != self.spec.name or name not in self.spec.resources:
                continue
            partition = dict(zip(self.spec.resources[name].partition, values, strict=True))
            found += [(name, partition, dict(record)) for record in collection]
        return found


def _caller_owned(resource: Resource) -> tuple[str, ...]:
    """Read-only fields whose default comes from the caller (`$auth...`): the server's to set."""
    properties = resource.schema.get("properties", {})
    return tuple(
        key
        for key, raw in resource.raw.get("defaults", {}).items()
        if isinstance(raw, str)
        and raw.startswith("$auth")
        and properties.get(key, {}).get("readOnly")
    )


def _field_of(problem: ValidationError) -> str:
    """The field a schema error is about (a missing required property names itself)."""
    required = problem.validator_value if problem.validator == "required" else None
    if isinstance(required, list) and isinstance(problem.instance, dict):
        missing = [key for key in required if key not in problem.instance]
        path = [*problem.absolute_path, *missing[:1]]
    else:
        path = list(problem.absolute_path)
    return ".".join(str(part) for part in path) or "(the record)"


def _refuse_unknown_fields(resource: Resource, given: JSONObject) -> None:
    """A fixture names only fields of its resource, as a create's body schema demands.

    Raises `FixtureError` naming the first unknown field; a schema that allows additional
    properties (or declares none) accepts any.
    """
    schema = resource.schema
    properties = schema.get("properties")
    if not properties or schema.get("additionalProperties", False) is not False:
        return
    unknown = sorted(key for key in given if key not in properties)
    if unknown:
        raise FixtureError(
            errors.FIXTURE_FIELD.format(
                resource=resource.name,
                field=unknown[0],
                problem=errors.FIXTURE_UNKNOWN_FIELD.format(
                    resource=resource.name, known=", ".join(properties)
                ),
            )
        )
