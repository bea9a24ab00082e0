"""The robustness layer: edge inputs never get a 5xx, and never change state when refused.

For every operation, each edge case of `conformance.edge_inputs` is sent once (on a fresh
record when the operation names one) and judged:

- the answer must be a 4xx or a 2xx the spec declares for the operation; a 5xx, another
  status or no answer at all fails the case's requirement;
- a refused case (4xx) must change nothing: the record it named reads the same afterwards, and
  a refused create leaves no new record first in the resource's list (lists are newest first,
  `pagination_complete`);
- a case valid by the RFCs should get the status the plain request gets (SHOULD).

`responses_bounded` is decided from the whole run's `ServerWatch`: every answer any layer read
was complete within the limits, or the first few that were not are the evidence.
"""

from dataclasses import dataclass, field

from conformance.edge_inputs import EdgeCase, Plain, edge_cases
from conformance.events import LayerStarted, Progress
from conformance.http import TranscriptClient
from conformance.records import Created, create_record, creator_of, items_from, record_from
from conformance.requests import headers_for, path_for
from conformance.requirements import Requirement
from conformance.results import Exchange, Result
from conformance.settings import Emit, Settings
from conformance.tally import Tally, results_of, tallies_for
from conformance.target import Target
from conformance.verbatim import VerbatimTransport
from kycspec.model import Operation

LAYER = "robustness"
BUDGET_SPENT = "budget spent"
NO_RECORD = "could not create the {resource} record to send the edge cases to (got {answer})"
NO_ANSWER = "{what}: no answer ({error})"
SERVER_ERROR = "{what} answered {status}"
UNDECLARED = (
    "{what} answered {status}, not a 4xx or a success status the spec declares ({declared})"
)
CHANGED = "{what} was refused with {status} but changed the {resource}: {before} -> {after}"
CREATED = "{what} was refused with {status} but a new {resource} {record} is first in the list"
NOT_LIKE_PLAIN = "{what} answered {status}; the same request without it answered {plain}"
UNBOUNDED = "{operation}: {error}"


@dataclass
class _Probe:
    """One layer run: the clients, the tallies, and the plain requests' answers."""

    target: Target
    client: TranscriptClient
    verbatim: TranscriptClient
    tallies: dict[str, Tally]
    plain_status: dict[tuple[str, str | None], int | None] = field(default_factory=dict)


def run_robustness(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The robustness layer (see the `Layer` contract in conformance.settings)."""
    tallies = tallies_for(catalogue, LAYER)
    if not tallies:
        return []
    operations = list(target.spec.operations.values())
    emit(LayerStarted(target.api, LAYER, len(operations)))
    verbatim = TranscriptClient(target, transport=VerbatimTransport(target.timeout))
    with TranscriptClient(target) as client, verbatim:
        probe = _Probe(target, client, verbatim, tallies)
        for done, op in enumerate(operations, 1):
            if settings.time_left() > 0:
                _check_operation(probe, op)
            emit(Progress(target.api, LAYER, done))
    if settings.time_left() <= 0:
        for tally in tallies.values():
            tally.skip(BUDGET_SPENT)
    _check_bounded(target, tallies.get("responses_bounded"))
    return results_of(tallies, settings.seed)


def _check_bounded(target: Target, tally: Tally | None) -> None:
    if tally is None:
        return
    watch = target.watch
    tally.ran(watch.sent)
    for operation, error in watch.unbounded_operations.items():
        tally.fail(UNBOUNDED.format(operation=operation, error=error), watch.unbounded)


def _token(target: Target, op: Operation) -> str | None:
    return target.admin_token if op.admin and target.admin_token else target.token


def _fresh(probe: _Probe, op: Operation) -> tuple[Created | None, Exchange | None]:
    """A new record for a case on `op`, when `op` names one."""
    creator = creator_of(probe.target.spec, op.resource.name)
    if op.role == "create" or op.path_param is None or creator is None:
        return None, None
    return create_record(probe.client, creator, probe.target.token)


def _check_operation(probe: _Probe, op: Operation) -> None:
    for plain, case in edge_cases(op, probe.target, _token(probe.target, op)):
        tally = probe.tallies.get(case.check)
        if tally is None:
            continue
        created, exchange = _fresh(probe, op)
        if exchange is not None and created is None:
            tally.skip(
                NO_RECORD.format(
                    resource=op.resource.name, answer=exchange.status or exchange.error
                )
            )
            probe.client.take()
            continue
        _check_case(probe, op, plain, case, created, tally)


def _send(
    probe: _Probe, op: Operation, request: Plain, created: Created | None, verbatim: bool
) -> Exchange:
    client = probe.verbatim if verbatim else probe.client
    path = created.path(op) if created else path_for(op)
    exchange = client.request(
        op.method,
        path,
        headers=request.headers,
        params=request.query or None,
        content=request.content,
    )
    client.take()
    return exchange


def _state(probe: _Probe, op: Operation, created: Created | None) -> object:
    """What a refused request must leave as it was: the named record, or the newest record."""
    spec, target, client = probe.target.spec, probe.target, probe.client
    if created is not None:
        readers = spec.operations_of(op.resource.name, "read")
        if not readers:
            return None
        reader = readers[0]
        read = client.request(
            reader.method, created.path(reader), headers=headers_for(reader, target, target.token)
        )
        return (read.status, record_from(reader, read))
    if op.role != "create":
        return None
    lists = spec.operations_of(op.resource.name, "list")
    if not lists:
        return None
    lister = lists[0]
    exchange = client.request(
        lister.method, path_for(lister), headers=headers_for(lister, target, target.token)
    )
    items = items_from(lister, exchange) or []
    return items[0].get(op.resource.id_field) if items else None


def _declared(op: Operation) -> list[int]:
    return sorted(
        int(s) for s in op.raw.get("responses", {}) if str(s).isdigit() and str(s).startswith("2")
    )


def _check_case(
    probe: _Probe,
    op: Operation,
    plain: Plain,
    case: EdgeCase,
    created: Created | None,
    tally: Tally,
) -> None:
    before_state = _state(probe, op, created)
    before = probe.client.take()
    exchange = _send(probe, op, case.request, created, case.verbatim)
    what = f"{op.operation_id} with {case.label}"
    status = exchange.status
    tally.ran()
    declared = _declared(op)
    if status is None:
        tally.fail(NO_ANSWER.format(what=what, error=exchange.error), (*before, exchange))
        return
    if 400 <= status < 500:
        after_state = _state(probe, op, created)
        after = probe.client.take()
        if after_state != before_state:
            template = CREATED if created is None else CHANGED
            tally.fail(
                template.format(
                    what=what,
                    status=status,
                    resource=op.resource.name,
                    before=before_state,
                    after=after_state,
                    record=after_state,
                ),
                (*before, exchange, *after),
            )
    elif status >= 500:
        tally.fail(SERVER_ERROR.format(what=what, status=status), (*before, exchange))
    elif status not in declared:
        text = ", ".join(map(str, declared)) or "none"
        tally.fail(UNDECLARED.format(what=what, status=status, declared=text), (*before, exchange))
    if case.valid:
        _compare_with_plain(probe, op, plain, case, status, exchange)


def _compare_with_plain(
    probe: _Probe, op: Operation, plain: Plain, case: EdgeCase, status: int, exchange: Exchange
) -> None:
    tally = probe.tallies.get("valid_variants_accepted")
    if tally is None:
        return
    key = (op.operation_id, plain.media)
    if key not in probe.plain_status:
        created, made = _fresh(probe, op)
        probe.plain_status[key] = (
            _send(probe, op, plain, created, False).status if made is None or created else None
        )
        probe.client.take()
    expected = probe.plain_status[key]
    if expected is None or not 200 <= expected < 300:
        return  # the plain request was not accepted: nothing to compare with
    tally.ran()
    if status != expected:
        what = f"{op.operation_id} with {case.label}"
        tally.fail(NOT_LIKE_PLAIN.format(what=what, status=status, plain=expected), [exchange])
