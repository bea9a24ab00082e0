"""The schema layer: schemathesis-generated requests, judged by schemathesis' built-in checks.

For every operation, hypothesis drives schemathesis' positive and negative generation modes
(`settings.profile.schema_examples` cases each, seeded with `settings.seed`, no shrinking so a
run stays inside its budget). Each response is validated once per check, so every failure maps
to exactly one requirement of the catalogue.

Valid data is judged by `acceptable` (the state-dependent refusals the spec allows, never an
auth refusal: the preflight showed the tokens work); a create must be accepted at least once,
so a server refusing every valid create is not passed. An invalid request whose only fault
may be an undeclared query parameter is not judged when accepted: no spec says unknown
parameters are refused.

Positive cases reach a real record: before an operation that names a record in its path, a
fresh record is created and its id fixed in the strategy, so reads, updates and transitions
answer with their success bodies and those bodies get schema-checked too. Partition headers
(FinHub's `X-Tenant-ID`) are fixed to `target.tenant` in positive cases for isolation.

`use_after_free` and `ensure_resource_availability` are stateful in schemathesis: they need its
state machine and OpenAPI links, which the specs do not declare. They are checked directly with
the TranscriptClient instead (create → read must succeed; delete → read must be 404), see
`conformance.layers.stateful`.
"""

import copy
import functools
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from urllib3.exceptions import ReadTimeoutError
from urllib3.util import SKIP_HEADER

from conformance.events import LayerStarted, Progress
from conformance.files import accept_for, file_problem
from conformance.http import TranscriptClient
from conformance.layers.feeds import check_feed
from conformance.layers.idempotency import check_idempotency
from conformance.layers.stateful import check_stateful
from conformance.limits import (
    CUT_OFF,
    ResponseTooSlow,
    ResponseUnbounded,
    check_declared_length,
    read_bounded,
)
from conformance.numbers import interoperable
from conformance.records import Created, create_parents, create_record, creator_of
from conformance.requirements import Requirement
from conformance.results import Exchange, Result
from conformance.sentforms import valid_as_sent
from conformance.settings import Emit, Settings
from conformance.tally import Tally, results_of, tallies_for
from conformance.target import Target, credential_headers, credential_params
from conformance.watch import LIMIT
from kycspec.formfields import FORM_MEDIA
from kycspec.model import Operation

LAYER = "schema"
RESPONSE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
MODE_CHECKS = {
    GenerationMode.POSITIVE: "positive_data_acceptance",
    GenerationMode.NEGATIVE: "negative_data_rejection",
}
NO_ADMIN_TOKEN = "no --admin-token: positive cases of admin operations were not run"
BUDGET_SPENT = "budget spent before every operation was exercised"
NOT_ACCEPTED = "answered {status} to valid data (acceptable: {allowed})"
NO_DATA = "no {mode} data can be generated for it"
GENERATION_FAILED = "{op}: generating {mode} data failed ({error})"
GONE_STATUS = 404  # the status of a record that is gone
MISSING_BODY_STATUS = 400  # a required request body that was sent as no content
SERVER_ERROR = 500
INTERNAL_HEADER = "x-schemathesis-testcaseid"
CHUNK_BYTES = 64 * 1024


class NotSent(requests.RequestException):
    """The run's `ServerWatch` ruled the request out (a hanging operation, a stopped server)."""

    def __init__(self, message: str, outage: str):
        super().__init__(message)
        self.outage = outage


class CutOff(requests.RequestException):
    """The answer broke a limit of `conformance.limits` and was cut off."""

    def __init__(self, status: int, cause: ResponseUnbounded):
        super().__init__(CUT_OFF.format(kind=type(cause).__name__, status=status, reason=cause))
        self.prefix = cause.prefix
        self.hangs = isinstance(cause, ResponseTooSlow)


class BoundedSession(requests.Session):
    """The session schemathesis' cases go through: limits, the watch, and no stray User-Agent.

    Every body is read within the target's limits, and a request the target's watch rules out
    is not sent (`NotSent`). urllib3 adds its own User-Agent to a request without one, which
    would quietly turn a negative case "required User-Agent missing" (FinHub) into a valid
    request, so the session sends none unless the case has one.
    """

    def __init__(self, target: Target):
        super().__init__()
        self.target = target
        # schemathesis merges a session's default headers in last, over the generated ones
        self.headers.clear()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if "User-Agent" not in request.headers:
            request.headers["User-Agent"] = SKIP_HEADER
        target = self.target
        refused = target.watch.refusal(target.operation(str(request.method), str(request.url)))
        if refused is not None:
            raise NotSent(refused[1], refused[0])
        target.watch.sent += 1
        started = time.monotonic()
        response = super().send(request, **{**kwargs, "stream": True})
        try:
            check_declared_length(response.headers, target.max_response_bytes)
            response._content = read_bounded(
                response.iter_content(CHUNK_BYTES),
                max_bytes=target.max_response_bytes,
                started=started,
                timeout_s=target.timeout,
            )
        except ResponseUnbounded as exc:
            raise CutOff(response.status_code, exc) from exc
        except requests.ConnectionError as exc:  # requests reports a stall mid-body this way
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                raise requests.ReadTimeout(exc) from exc
            raise
        finally:
            response.close()
        return response


@dataclass
class _Run:
    """One schema-layer run against a target."""

    target: Target
    settings: Settings
    tallies: dict[str, Tally]
    session: requests.Session
    schema: Any
    out_of_time: bool = False

    def token_for(self, op: Operation) -> str | None:
        return self.target.admin_token if op.admin else self.target.token


def run_schema(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The schema layer (see the `Layer` contract in conformance.settings)."""
    if not target.spec.stateful:
        from conformance.layers.plain import run_plain_schema  # noqa: PLC0415 (imports this)

        return run_plain_schema(target, catalogue, settings, emit)
    tallies = tallies_for(catalogue, LAYER)
    if not tallies:
        return []
    operations = list(target.spec.operations.values())
    resources = list(target.spec.resources)
    _expect(target, tallies)
    emit(LayerStarted(target.api, LAYER, len(operations) + len(resources)))
    run = _Run(target, settings, tallies, BoundedSession(target), _load_schema(target))
    done = 0
    try:
        with TranscriptClient(target) as client:
            for op in operations:
                if not run.out_of_time:
                    _exercise(run, client, op)
                done += 1
                emit(Progress(target.api, LAYER, done))
            for resource in resources:
                if settings.time_left() > 0:
                    check_stateful(client, target, resource, tallies)
                    check_idempotency(client, target, resource, tallies.get("idempotent_retries"))
                    check_feed(client, target, resource, tallies.get("feed_records_changes"))
                done += 1
                emit(Progress(target.api, LAYER, done))
    finally:
        run.session.close()
    if run.out_of_time or settings.time_left() <= 0:
        for tally in tallies.values():
            tally.skip(BUDGET_SPENT, "--budget")
    return results_of(tallies, settings.seed)


def _expect(target: Target, tallies: dict[str, Tally]) -> None:
    """Every operation (every resource, for the stateful checks) must be exercised."""
    spec = target.spec
    for tally in tallies.values():
        if tally.check.every == "operation":
            for op in spec.operations.values():
                tally.expect(op.operation_id)
    for resource in spec.resources:
        creator = creator_of(spec, resource)
        if creator is None or not spec.operations_of(resource, "read"):
            continue
        for name, role in (("ensure_resource_availability", "read"), ("use_after_free", "delete")):
            if name in tallies and spec.operations_of(resource, role):
                tallies[name].expect(resource)


def acceptable(op: Operation, query: Mapping[str, Any] | None = None) -> tuple[int, ...]:
    """The non-2xx answers a conforming server may give to valid data for `op`.

    Valid data can still meet a state the spec documents: a record that is gone (404, for an
    operation on a record or under a parent record, which a made-up id does not name), a state
    change the lifecycle refuses in the record's state (its `refused_status`: 409, or the spec's
    `x-errors.statuses`), a guard's declared status.
    Never 401/403 (the preflight showed the token is accepted), never a 5xx (RFC 9110 section
    15.6: a server error).
    """
    found = []
    starts = op.paging.token_params if op.paging else ()
    if op.path_param or op.resource.parent or any(name in (query or {}) for name in starts):
        # a record, a parent, or a page start or end naming one (Fin X D5), unknown
        found.append(GONE_STATUS)
    if op.resource.lifecycle is not None and op.role in ("update", "transition"):
        found.append(op.resource.lifecycle.refused_status)
    found += [guard.status for t in op.transitions() for guard in t.guards]
    return tuple(dict.fromkeys(found))


def _load_schema(target: Target) -> Any:
    load_all_checks()
    return schemathesis.openapi.from_dict(_without_security(target.spec.document))


def _without_security(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its `security` removed: every case then carries the run's credential.

    Schemathesis turns an API key scheme into a header, query or cookie parameter and mutates
    it in negative cases; the run replaces it with its own key, so such a case was never sent
    as generated. Missing and invalid credentials are the security layer's checks.
    """
    copied = copy.deepcopy(document)
    copied.pop("security", None)
    copied.get("components", {}).pop("securitySchemes", None)
    for item in copied.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return copied


def _exercise(run: _Run, client: TranscriptClient, op: Operation) -> None:
    operation = run.schema.find_operation_by_id(op.operation_id)
    token = run.token_for(op)
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    positive = run.tallies.get("positive_data_acceptance")
    if op.admin and token is None:
        if positive is not None:
            positive.skip(NO_ADMIN_TOKEN, "--admin-token")
        modes, token = [GenerationMode.NEGATIVE], run.target.token
    for mode in modes:
        fixed_path, fixed_headers = _fixed_values(run, client, op, token, mode)
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters=fixed_path or None, headers=fixed_headers or None
        )
        problem = _drive(
            run, strategy, functools.partial(_one_case, run, op, token=token, mode=mode)
        )
        tally = run.tallies.get(MODE_CHECKS[mode])
        if problem is not None and tally is not None:
            if isinstance(problem, hypothesis.errors.Unsatisfiable):
                tally.waive(op.operation_id, NO_DATA.format(mode=mode.value))
            else:
                error = f"{type(problem).__name__}: {problem}"
                tally.error(
                    GENERATION_FAILED.format(op=op.operation_id, mode=mode.value, error=error)
                )
        if run.out_of_time:
            return


def _fixed_values(
    run: _Run, client: TranscriptClient, op: Operation, token: str | None, mode: GenerationMode
) -> tuple[dict[str, str], dict[str, str]]:
    """Path parameters naming a fresh record, and the partition headers of positive cases."""
    headers: dict[str, str] = {}
    if mode is GenerationMode.POSITIVE:
        for item in op.resource.partition:
            root, _, name = item.partition(".")
            if root == "header":
                headers[name] = run.target.tenant
    if op.role == "create" or op.path_param is None:
        parents, _ = create_parents(client, op.resource, run.target.token)
        client.take()
        return parents, headers
    creator = creator_of(run.target.spec, op.resource.name)
    if creator is None:
        return {}, headers
    created, _ = create_record(client, creator, run.target.token)
    client.take()
    if created is None:
        return {}, headers
    return {op.path_param: created.key_for(op), **_parent_params(created, op)}, headers


def _parent_params(created: Created, op: Operation) -> dict[str, str]:
    return {
        p["name"]: created.params[p["name"]]
        for p in op.parameters
        if p.get("in") == "path" and p["name"] != op.path_param and p["name"] in created.params
    }


def _drive(
    run: _Run, strategy: Any, body: Callable[[Any], None]
) -> hypothesis.errors.HypothesisException | None:
    """Run hypothesis over the strategy: seeded, no shrinking, no example database.

    Returns the generation problem, if any (an unsatisfiable schema: no such data exists).
    """

    @hypothesis.settings(
        max_examples=max(run.settings.profile.schema_examples, 1),
        phases=[Phase.generate],
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.seed(run.settings.seed)
    @given(strategy)
    def test(case: Any) -> None:
        if time.monotonic() >= run.settings.deadline:
            run.out_of_time = True
            return
        body(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            test()
        except hypothesis.errors.HypothesisException as exc:
            return exc
    return None


def _one_case(
    run: _Run, op: Operation, case: Any, *, token: str | None, mode: GenerationMode
) -> None:
    headers = credential_headers(op, token)
    query = credential_params(op, token)
    accept = accept_for(op)
    if query:
        case.query = {**(case.query or {}), **query}
    idempotency = run.target.spec.idempotency_header
    if idempotency and (case.headers or {}).get(idempotency) is not None:
        # a generated key may repeat with another body, which the server must refuse
        case.headers = {**case.headers, idempotency: f"conformance-{uuid.uuid4()}"}
    sent: dict[str, str | None] = {**accept, **headers}
    if not any(name.lower() == "user-agent" for name in case.headers or {}):
        sent["User-Agent"] = None  # not schemathesis' own: the case has none
    response = call_case(run, case, sent, headers, op.operation_id, unit=op.operation_id)
    if response is None:
        return
    exchange = exchange_of(response, run.target)
    skipped = {MODE_CHECKS[mode]} if not _sent_as_generated(case, response) else set()
    encoding = op.request_encodings.get(FORM_MEDIA, {})
    if mode is GenerationMode.NEGATIVE and valid_as_sent(
        op.request_schema, encoding, case.media_type, response.request.body
    ):
        skipped.add(MODE_CHECKS[mode])  # the form made the invalid value valid on the way
    if mode is GenerationMode.POSITIVE and not interoperable([case.body, case.query]):
        skipped.add(MODE_CHECKS[mode])  # a number a parser may refuse (RFC 8259 section 6)
    if (
        mode is GenerationMode.NEGATIVE
        and _undeclared_query(op, case)
        and response.status_code < 300
    ):
        skipped.add(MODE_CHECKS[mode])
    for name in RESPONSE_CHECKS:
        tally = run.tallies.get(name)
        if tally is None:
            continue
        tally.ran(unit=op.operation_id)
        problem = _validate(case, response, name, headers)
        if name == "response_schema_conformance" and response.status_code == op.success_status:
            content_type = ", ".join(response.headers.get("content-type", []))  # lower-case keys
            problem = problem or file_problem(op, content_type, response.content)
        if problem:
            tally.fail(f"{op.operation_id} ({mode.value} data): {problem}", [exchange])
    tally = run.tallies.get(MODE_CHECKS[mode])
    if tally is None or MODE_CHECKS[mode] in skipped:
        return
    if mode is GenerationMode.POSITIVE:
        _judge_positive(op, response.status_code, tally, exchange, case.query)
        return
    tally.ran(unit=op.operation_id)
    problem = _validate(case, response, MODE_CHECKS[mode], headers)
    if problem:
        tally.fail(f"{op.operation_id} ({mode.value} data): {problem}", [exchange])


def _judge_positive(
    op: Operation, status: int, tally: Tally, exchange: Exchange, query: Mapping[str, Any] | None
) -> None:
    """Valid data: accepted, or refused for a state the spec documents; a create needs a 2xx
    to count (a 5xx is left to not_a_server_error, so one bug is not reported twice)."""
    if status >= SERVER_ERROR:
        return
    if 200 <= status < 300:
        tally.ran(unit=op.operation_id)
        return
    if status == MISSING_BODY_STATUS and op.body_required and not exchange.request_body:
        # A required body sent as no content (an empty form): a server may refuse it as
        # missing (OpenAPI 3.0.3 section 4.7.13); the case does not cover the operation.
        tally.ran()
        return
    allowed = acceptable(op, query)
    if status in allowed:
        tally.ran(unit=None if op.role == "create" else op.operation_id)
        return
    tally.ran()
    shown = ", ".join(["2xx", *map(str, allowed)])
    message = NOT_ACCEPTED.format(status=status, allowed=shown)
    tally.fail(f"{op.operation_id} (positive data): {message}", [exchange])


def _undeclared_query(op: Operation, case: Any) -> bool:
    """Whether the case sends a query parameter the operation does not declare."""
    declared = {p["name"] for p in op.parameters if p.get("in") == "query"}
    return any(name not in declared for name in (case.query or {}))


def call_case(
    run: _Run,
    case: Any,
    sent: Mapping[str, str | None],
    credentials: dict[str, str],
    label: str,
    unit: str | None = None,
) -> Any:
    """The response to a generated case sent with the headers `sent` (`credentials` among
    them), or None when it got no complete answer: then `not_a_server_error` fails (as `unit`)
    with the exchange that shows why, and the target's watch learns of it."""
    try:
        return case.call(
            base_url=run.target.base_url.rstrip("/"),
            session=run.session,
            headers=dict(sent),
            timeout=run.target.timeout,
        )
    except requests.RequestException as exc:
        exchange = _unanswered(run.target, case, credentials, exc)
        tally = run.tallies["not_a_server_error"]
        tally.ran(unit=unit)
        tally.fail(f"{label}: no response ({exchange.error})", [exchange])
        return None


def _unanswered(
    target: Target, case: Any, headers: dict[str, str], exc: requests.RequestException
) -> Exchange:
    """The exchange of a case that got no complete answer; the target's watch learns of it."""
    method, url = str(case.method).upper(), target.base_url.rstrip("/") + case.formatted_path
    exchange = Exchange(
        method=method,
        url=url,
        request_headers={**(case.headers or {}), **headers},
        request_body=None,
        error=f"{type(exc).__name__}: {exc}",
        credential=target.placeholder(headers),
        masks=target.masks(),
        outage=exc.outage if isinstance(exc, NotSent) else None,
    )
    if isinstance(exc, NotSent):
        return exchange
    operation = target.operation(method, url)
    if isinstance(exc, CutOff):
        exchange = replace(exchange, response_body=exc.prefix, outage=LIMIT)
        target.watch.note_unbounded(operation, exchange, hangs=exc.hangs)
        return exchange
    hangs = isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout)
    lost = isinstance(exc, requests.ConnectionError)
    return target.watch.after_failure(operation, exchange, hangs=hangs, lost=lost)


def _sent_as_generated(case: Any, response: Any) -> bool:
    """Whether every generated header went out as generated.

    The HTTP stack replaces header values it cannot send (non-Latin-1 text, say, becomes the
    client's default), so the server never saw the generated data; judging the data's
    acceptance on that response would be judging a different request. Authorization is
    replaced on purpose, with the run's token.
    """
    sent = response.request.headers
    return all(
        value is None or name.lower() == "authorization" or str(sent.get(name)) == str(value)
        for name, value in (case.headers or {}).items()
    )


def _validate(case: Any, response: Any, check: str, headers: dict[str, str]) -> str | None:
    """The failure message of one schemathesis check on one response, or None."""
    try:
        case.validate_response(response, checks=[CHECKS.get_one(check)], headers=headers)
    except FailureGroup as group:
        return "; ".join(_describe(failure) for failure in group.exceptions)
    except Exception as exc:  # a check that crashes is still evidence against the response
        return f"{type(exc).__name__}: {exc}"
    return None


def _describe(failure: Any) -> str:
    message = " ".join(str(failure.message or "").split())
    return f"{failure.title}: {message}" if message else str(failure.title)


def exchange_of(response: Any, target: Target) -> Exchange:
    """A schemathesis response (and the request behind it) as our Exchange."""
    request = response.request
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() != INTERNAL_HEADER and v != SKIP_HEADER
    }
    return Exchange(
        method=str(request.method),
        url=str(request.url),
        request_headers=headers,
        request_body=body,
        credential=target.placeholder(headers),
        masks=target.masks(),
        status=response.status_code,
        response_headers={k: ", ".join(v) for k, v in response.headers.items()},
        response_body=response.content,
        elapsed_ms=response.elapsed * 1000,
    )
