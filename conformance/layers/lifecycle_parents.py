"""The parent-child requirements of a child resource (specs/README.md, "Parent-child resources").

- `parent_required`: every operation of the child, asked under a parent that does not exist
  or that another account owns, is a 404 in the vendor's `not_found` envelope, even for a
  child that exists under its own parent.
- `parent_state_gates_writes`: a new parent is moved, through its own declared operations, into
  a state that refuses child writes (outside `writable-in`, or `read-only`); every write of the
  child is then refused with the lifecycle's refusal status in the `x-errors` envelope.

Both run once per child resource, after its scenarios, with fresh records.
"""

from collections.abc import Mapping
from typing import Any

from conformance.envelopes import error_problem
from conformance.http import TranscriptClient
from conformance.layers.lifecycle_plan import Run
from conformance.parent_states import closed_states, route
from conformance.records import (
    Created,
    create_parents,
    create_record,
    creator_of,
    parse_json,
    record_from,
)
from conformance.requests import (
    body_kwargs,
    example_value,
    headers_for,
    params_for,
    path_for,
    valid_body,
)
from conformance.requirements import WRITE_ROLES
from conformance.results import Exchange
from conformance.tally import Tally, tally_of
from kycspec.model import Operation, Resource
from kycspec.types import JSONObject

UNKNOWN_PARENT = "conformance-unknown-parent"
NO_CHILD = "could not create a {resource} under a new {parent} (got {status})"
NO_OTHER_ACCOUNT = "a {parent} of another account (no --token-b given)"
NO_OTHER_PARENT = "a {parent} of another account (creating one as --token-b answered {status})"
NO_ADMIN = "admin-only operations (no --admin-token given)"
NOT_MOVED = "could not move a new {parent} into {state} ({operation} answered {status})"
NO_ROUTE = "no unguarded operations lead a new {parent} from {start} into {closed}"
NOT_REFUSED = "{what} under {parent} {id!r}, which {how}, answered {status}; expected 404"
NOT_ENVELOPE = "{what} under {parent} {id!r}, which {how}: {problem}"
WRITE_ALLOWED = "{what} while its {parent} is {state!r} answered {status}; expected {expected}"
WRITE_ENVELOPE = "{what} while its {parent} is {state!r}: {problem}"
# The kinds whose envelope a refused child write may carry: a refused move, or a rule that
# does not hold (the parent's state is a precondition of the write).
REFUSAL_KINDS = ("invalid_transition", "guard_failed")
CHECKS = ("parent_required", "parent_state_gates_writes")


def check_parents(run: Run, resource: Resource) -> None:
    """Both parent-child requirements of `resource` (a child), as far as they apply."""
    required = tally_of(run.tallies, "parent_required")
    gated = tally_of(run.tallies, "parent_state_gates_writes")
    ops = run.target.spec.operations_of(resource.name)
    if required is not None:
        for op in ops:
            required.expect(op.operation_id)
        _check_required(run, resource, ops, required)
    if gated is not None:
        for op in ops:
            if op.role in WRITE_ROLES:
                gated.expect(op.operation_id)
        _check_gated(run, resource, [op for op in ops if op.role in WRITE_ROLES], gated)


def unknown_parent(op: Operation, param: str) -> str:
    """A value of the parent path parameter that names no record: of the parameter's format or
    pattern when it declares one (so a 404 cannot be a validation refusal), else a plain text."""
    schema: JSONObject = next(
        (p.get("schema", {}) for p in op.parameters if p.get("name") == param), {}
    )
    if "format" in schema or "pattern" in schema:
        return str(example_value({k: v for k, v in schema.items() if k != "example"}))
    return UNKNOWN_PARENT


def _token(run: Run, op: Operation) -> str | None:
    return run.target.admin_token if op.admin else run.target.token


def _send(
    client: TranscriptClient,
    op: Operation,
    token: str | None,
    key: str | None,
    paths: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> Exchange:
    """One otherwise valid request for `op` as `token` (its body with `overrides`), for the
    record `key` (when the operation names one) and the path values `paths`."""
    content_type, payload = valid_body(op, overrides)
    return client.request(
        op.method,
        path_for(op, key if op.path_param else None, paths),
        headers=headers_for(op, client.target, token),
        params=params_for(op, token) or None,
        **body_kwargs(op, content_type, payload),
    )


def _own_child(run: Run, resource: Resource, tally: Tally) -> Created | None:
    """A new child under a new parent of the caller's own (None, with the reason, if not)."""
    creator = creator_of(run.target.spec, resource.name)
    client = run.client
    client.take()
    created, exchange = (
        (None, None) if creator is None else create_record(client, creator, run.target.token)
    )
    client.take()
    if created is None:
        parent = resource.parent.resource if resource.parent else ""
        status = exchange.status if exchange is not None else None
        tally.skip(NO_CHILD.format(resource=resource.name, parent=parent, status=status))
    return created


def _check_required(run: Run, resource: Resource, ops: list[Operation], tally: Tally) -> None:
    parent = resource.parent
    assert parent is not None
    child = _own_child(run, resource, tally)
    if child is None:
        return
    client = run.client
    token_b = run.target.token_b
    elsewhere: list[tuple[str, dict[str, str]]] = []
    if token_b is None:
        tally.unchecked_part(NO_OTHER_ACCOUNT.format(parent=parent.resource))
    else:
        others, failed = create_parents(client, resource, token_b)
        client.take()
        if others:
            elsewhere.append(("another account owns", others))
        else:
            got = failed.status if failed is not None else None
            tally.unchecked_part(NO_OTHER_PARENT.format(parent=parent.resource, status=got))
    for op in ops:
        token = _token(run, op)
        if token is None:
            tally.unchecked_part(NO_ADMIN)
            continue
        unknown = {parent.param: unknown_parent(op, parent.param)}
        for how, paths in [("does not exist", unknown), *elsewhere]:
            exchange = _send(client, op, token, child.key_for(op), {**child.params, **paths})
            tally.ran(unit=op.operation_id)
            values = {
                "what": op.operation_id,
                "parent": parent.resource,
                "id": paths[parent.param],
                "how": how,
            }
            if exchange.status != 404:
                status = exchange.status or exchange.error
                tally.fail(NOT_REFUSED.format(**values, status=status), client.exchanges)
            else:
                errors = run.target.spec.errors
                problem = error_problem(errors, "not_found", 404, parse_json(exchange), 404)
                if problem:
                    tally.fail(NOT_ENVELOPE.format(**values, problem=problem), client.exchanges)
            client.take()


def _move_parent(
    run: Run, resource: Resource, parent_values: dict[str, str], tally: Tally
) -> str | None:
    """Move the new parent named by `parent_values` into a closed state; the state reached,
    or None (with the reason) when it cannot be."""
    parent = resource.parent
    assert parent is not None
    spec = run.target.spec
    owner = spec.resources[parent.resource]
    lifecycle = owner.lifecycle
    assert lifecycle is not None
    client = run.client
    reader = next(iter(spec.operations_of(owner.name, "read")), None)
    key = parent_values[parent.param]
    start = lifecycle.default or lifecycle.initial[0]
    if reader is not None:
        exchange = _send(client, reader, _token(run, reader), key, parent_values)
        record = record_from(reader, exchange) or {}
        start = str(record.get(lifecycle.field, start))
        client.take()
    closed = closed_states(spec, resource)
    steps = route(lifecycle, start, closed)
    if steps is None:
        tally.skip(NO_ROUTE.format(parent=owner.name, start=start, closed=" or ".join(closed)))
        return None
    state = start
    for step in steps:
        op = spec.operations[step.operation or ""]
        token = _token(run, op)
        if token is None:
            tally.skip(NO_ADMIN, "--admin-token")
            return None
        overrides: dict[str, Any] = {}
        if op.target_field:
            overrides[op.target_field] = step.target
        elif op.role == "update":
            overrides[lifecycle.field] = step.target
        exchange = _send(client, op, token, key, parent_values, overrides)
        client.take()
        if exchange.status != op.success_status:
            status = exchange.status or exchange.error
            values = {"parent": owner.name, "state": step.target, "status": status}
            tally.skip(NOT_MOVED.format(**values, operation=op.operation_id))
            return None
        state = step.target
    return state


def _check_gated(run: Run, resource: Resource, ops: list[Operation], tally: Tally) -> None:
    parent = resource.parent
    assert parent is not None
    child = _own_child(run, resource, tally)
    if child is None:
        return
    client = run.client
    state = _move_parent(run, resource, child.params, tally)
    if state is None:
        return
    owner = run.target.spec.resources[parent.resource]
    expected = owner.lifecycle.refused_status if owner.lifecycle else 409
    errors = run.target.spec.errors
    for op in ops:
        token = _token(run, op)
        if token is None:
            tally.unchecked_part(NO_ADMIN)
            continue
        exchange = _send(client, op, token, child.key_for(op), child.params)
        tally.ran(unit=op.operation_id)
        values = {"what": op.operation_id, "parent": owner.name, "state": state}
        if exchange.status != expected:
            answer = exchange.status or exchange.error
            message = WRITE_ALLOWED.format(**values, status=answer, expected=expected)
            tally.fail(message, client.exchanges)
        else:
            body = parse_json(exchange)
            problems = [error_problem(errors, k, expected, body, expected) for k in REFUSAL_KINDS]
            if all(problems):
                tally.fail(WRITE_ENVELOPE.format(**values, problem=problems[0]), client.exchanges)
        client.take()
