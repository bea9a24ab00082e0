"""The security layer: authentication, admin-only operations, required headers, isolation.

Every request is built from the spec (`conformance.requests`), so the layer needs no per-vendor
code. Checks that could change a record (admin operations, header-less requests, another
account's writes) each get a fresh record, so a server that wrongly accepts one request does not
skew the next check's verdict.
"""

from collections.abc import Callable, Mapping

from conformance.events import LayerStarted, Progress
from conformance.http import TranscriptClient
from conformance.layers.plain import UNSECURED, declares_security, run_plain_security
from conformance.records import (
    Created,
    create_parents,
    create_record,
    creator_of,
    items_from,
    record_from,
)
from conformance.requests import body_kwargs, headers_for, params_for, path_for, valid_body
from conformance.requirements import Requirement
from conformance.results import Exchange, Result
from conformance.settings import Emit, Settings
from conformance.tally import Tally, results_of, tallies_for
from conformance.target import Target, credential_headers
from kycspec.model import Operation

LAYER = "security"
INVALID_TOKEN = "conformance-invalid-token"
UNKNOWN_ID = "conformance-unknown-id"
NO_TOKEN_B = "no --token-b given"
TOKEN_B_REFUSED = "--token-b was refused with 401; is it a valid key of a second account?"
NO_ADMIN_TOKEN = "no --admin-token given"
BUDGET_SPENT = "budget spent"
NO_CREATE = "the resource has no create operation"
# Probing order: reads before writes, deletes last, so a leak shows before it destroys evidence.
ROLE_ORDER = {"list": 0, "read": 1, "update": 2, "transition": 3, "delete": 4}
# Who a probe acts as for an operation: its token, the headers and path values it overrides.
Identity_ = tuple[str | None, dict[str, str], dict[str, str]]
Identity = Callable[[Operation], Identity_]


def run_security(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The security layer (see the `Layer` contract in conformance.settings)."""
    if not target.spec.stateful:
        return run_plain_security(target, catalogue, settings, emit)
    tallies = tallies_for(catalogue, LAYER)
    if not declares_security(target.spec.document):
        for tally in tallies.values():
            tally.skip(UNSECURED)
        return results_of(tallies, settings.seed)
    if not tallies:
        return []
    spec = target.spec
    operations = list(spec.operations.values())
    _expect(target, tallies)
    emit(LayerStarted(target.api, LAYER, len(operations) + len(spec.resources)))
    done = 0
    with TranscriptClient(target) as client:
        for op in operations:
            if settings.time_left() > 0:
                _check_operation(client, target, op, tallies)
            done += 1
            emit(Progress(target.api, LAYER, done))
        for resource in spec.resources:
            if settings.time_left() > 0:
                _check_isolation(client, target, resource, tallies)
            done += 1
            emit(Progress(target.api, LAYER, done))
    if settings.time_left() <= 0:
        for tally in tallies.values():
            tally.skip(BUDGET_SPENT, "--budget")
    return results_of(tallies, settings.seed)


def _expect(target: Target, tallies: dict[str, Tally]) -> None:
    """The units each requirement must be exercised on: operations, headers, resources."""
    spec = target.spec
    for op in spec.operations.values():
        for name in ("missing_token_refused", "invalid_token_refused"):
            if name in tallies and not op.public:
                tallies[name].expect(op.operation_id)
        if op.admin and "admin_only_enforced" in tallies:
            tallies["admin_only_enforced"].expect(op.operation_id)
        if "required_headers_enforced" in tallies:
            for name in _required_headers(op):
                tallies["required_headers_enforced"].expect(f"{op.operation_id} {name}")
    for resource in spec.resources.values():
        if creator_of(spec, resource.name) is None:
            continue
        if "accounts_isolated" in tallies:
            tallies["accounts_isolated"].expect(resource.name)
        if "partitions_isolated" in tallies and (
            resource.parent is not None or any(p.startswith("header.") for p in resource.partition)
        ):
            tallies["partitions_isolated"].expect(resource.name)


def _required_headers(op: Operation) -> list[str]:
    return [
        p["name"]
        for p in op.parameters
        if p.get("in") == "header" and p.get("required") and p["name"].lower() != "authorization"
    ]


def _fresh(client: TranscriptClient, target: Target, op: Operation) -> Created | None:
    """A new record for a check on `op` (None for creates, or when creating fails)."""
    creator = creator_of(target.spec, op.resource.name)
    if op.role == "create" or creator is None or op.path_param is None:
        return None
    created, _ = create_record(client, creator, target.token)
    client.take()
    return created


def _send(
    client: TranscriptClient,
    op: Operation,
    created: Created | None,
    headers: Mapping[str, str | None],
    token: str | None = None,
    paths: Mapping[str, str] | None = None,
) -> Exchange:
    """One otherwise valid request for `op`, with the given headers (and `token` in the query
    when the operation takes its key there), and `paths` overriding path values."""
    content_type, payload = valid_body(op)
    if created is None:
        path = path_for(op, UNKNOWN_ID if op.path_param else None)
    else:
        path = path_for(op, created.key_for(op), {**created.params, **(paths or {})})
    params = params_for(op, token) or None
    return client.request(
        op.method, path, headers=headers, params=params, **body_kwargs(op, content_type, payload)
    )


def _check_operation(
    client: TranscriptClient, target: Target, op: Operation, tallies: dict[str, Tally]
) -> None:
    created = _fresh(client, target, op)
    base = headers_for(op, target, None)
    # A public operation (`security: []`) answers without a key: nothing to refuse.
    probes = (
        ()
        if op.public
        else (("missing_token_refused", None), ("invalid_token_refused", INVALID_TOKEN))
    )
    for check, token in probes:
        tally = tallies.get(check)
        if tally is None:
            continue
        sent = {**base, **credential_headers(op, token)}
        exchange = _send(client, op, created, sent, token)
        tally.ran(unit=op.operation_id)
        if exchange.status != 401:
            what = "without a token" if token is None else "with an invalid token"
            tally.fail(
                f"{op.operation_id} {what} answered {exchange.status or exchange.error}, not 401",
                client.exchanges,
            )
        client.take()
    if op.admin:
        _check_admin(client, target, op, tallies.get("admin_only_enforced"))
    _check_headers(client, target, op, tallies.get("required_headers_enforced"))


def _check_admin(
    client: TranscriptClient, target: Target, op: Operation, tally: Tally | None
) -> None:
    if tally is None:
        return
    created = _fresh(client, target, op)
    exchange = _send(client, op, created, headers_for(op, target, target.token), target.token)
    tally.ran(unit=op.operation_id)
    if exchange.status != 403:
        tally.fail(
            f"{op.operation_id} (admin only) with a non-admin token answered "
            f"{exchange.status or exchange.error}, not 403",
            client.exchanges,
        )
    client.take()


def _check_headers(
    client: TranscriptClient, target: Target, op: Operation, tally: Tally | None
) -> None:
    if tally is None:
        return
    required = _required_headers(op)
    token = target.admin_token if op.admin else target.token
    if required and token is None:
        tally.skip(NO_ADMIN_TOKEN, "--admin-token")
        return
    for name in required:
        created = _fresh(client, target, op)
        headers: dict[str, str | None] = {**headers_for(op, target, token), name: None}
        exchange = _send(client, op, created, headers, token)
        tally.ran(unit=f"{op.operation_id} {name}")
        declared = "400" in op.raw.get("responses", {})
        status = exchange.status or 0
        if (status != 400) if declared else not 400 <= status < 500:
            tally.fail(
                f"{op.operation_id} without the required header {name} answered "
                f"{exchange.status or exchange.error}, not {'400' if declared else 'a 4xx'}",
                client.exchanges,
            )
        client.take()


def _check_isolation(
    client: TranscriptClient, target: Target, resource: str, tallies: dict[str, Tally]
) -> None:
    accounts = tallies.get("accounts_isolated")
    if accounts is not None:
        if target.token_b is None:
            accounts.skip(NO_TOKEN_B, "--token-b")
        else:
            token_b = target.token_b
            _probe(
                client, target, resource, accounts, lambda op: (token_b, {}, {}), "another account"
            )
    partitions = tallies.get("partitions_isolated")
    spec_resource = target.spec.resources[resource]
    names = [p.split(".", 1)[1] for p in spec_resource.partition if p.startswith("header.")]
    if partitions is not None and names:
        other = dict.fromkeys(names, f"{target.tenant}-other")

        def as_other_partition(op: Operation) -> Identity_:
            return (target.admin_token if op.admin else target.token), other, {}

        _probe(client, target, resource, partitions, as_other_partition, "another partition")
    if partitions is not None and spec_resource.parent is not None:
        # A child is only found under its own parent (Onfido's checks under an applicant).
        client.take()
        parents, _ = create_parents(client, spec_resource, target.token)
        client.take()
        if parents:

            def under_other_parent(op: Operation) -> Identity_:
                return (target.admin_token if op.admin else target.token), {}, parents

            _probe(client, target, resource, partitions, under_other_parent, "another parent")


def _probe(
    client: TranscriptClient,
    target: Target,
    resource: str,
    tally: Tally,
    identity: Identity,
    who: str,
) -> None:
    """Create a record, then try to see and change it as someone else; it must stay hidden."""
    creator = creator_of(target.spec, resource)
    if creator is None:
        tally.skip(NO_CREATE)
        return
    client.take()
    created, exchange = create_record(client, creator, target.token)
    if created is None:
        tally.skip(f"could not create the {resource} record (got {exchange.status})")
        client.take()
        return
    before = _read(client, target, created)
    probes = sorted(
        (op for op in target.spec.operations_of(resource) if op.role != "create"),
        key=lambda op: ROLE_ORDER.get(op.role, 9),
    )
    for op in probes:
        token, extra, paths = identity(op)
        if token is None:
            continue
        headers = {**headers_for(op, target, token), **extra}
        if op.role == "list":
            params = params_for(op, token) or None
            path = path_for(op, None, {**created.params, **paths})
            exchange = client.request(op.method, path, headers=headers, params=params)
            leaked = (
                exchange.status is not None
                and 200 <= exchange.status < 300
                and any(
                    item.get(op.resource.id_field) == created.id
                    for item in items_from(op, exchange) or []
                )
            )
        else:
            exchange = _send(client, op, created, headers, token, paths)
            allowed = (403, 404) if op.admin else (404,)
            leaked = exchange.status not in allowed
        if exchange.status == 401 and who == "another account":
            tally.skip(TOKEN_B_REFUSED, "--token-b")
            client.take()
            return
        tally.ran(unit=resource)
        if leaked:
            tally.fail(
                f"{op.operation_id} from {who} answered {exchange.status or exchange.error} "
                f"for the {resource} record it must not see "
                "(expected 404, or absent from the list)",
                client.exchanges,
            )
    after = _read(client, target, created)
    if before is not None and after != before:
        tally.fail(f"a {resource} changed after requests from {who}", client.exchanges)
    client.take()


def _read(client: TranscriptClient, target: Target, created: Created) -> object:
    """The record as its owner sees it (status and update time), or None if unreadable."""
    readers = target.spec.operations_of(created.op.resource.name, "read")
    if not readers:
        return None
    reader = readers[0]
    exchange = client.request(
        reader.method,
        created.path(reader),
        headers=headers_for(reader, target, target.token),
        params=params_for(reader, target.token) or None,
    )
    record = record_from(reader, exchange)
    if exchange.status != reader.success_status or record is None:
        return ("gone", exchange.status)
    resource = reader.resource
    return tuple(
        record.get(name) for name in (resource.status_field, resource.updated_field) if name
    )
