"""Preflight: before any requirement runs, show that the run can judge this server at all.

A misconfigured run (a base URL that serves nothing, a token the server refuses, a control plane
that does not answer) would otherwise fail or skip dozens of requirements for one reason. It is
"could not run" instead (exit 2): one sentence, and the request that showed it.

The checks, in order:

1. the base URL answers at all;
2. it serves the spec: the spec's lists (GET operations without path parameters) do not all
   answer 404;
3. every given token (`--token`, `--token-b`, `--admin-token`) is accepted by a list (no 401 or
   403), judged by the status line of the first list that answers one, even when its body is
   then cut off at a limit (`conformance.limits`: that is for the requirements to fail); when
   no list answers at all within the limits, the token cannot be judged and the limit is named;
4. a given `--control-url` answers (with `--control-token`, when given), and knows the sandbox
   behind `--token`: given with `--sandbox`, or found by RFC 7662 token introspection
   (`POST <control-url>/introspect`, which the kyc-contracts mock answers). The sandbox is
   never read out of the token itself;
5. every key is in the role it is given for, probed with a record `--token` writes during the
   preflight (a resource with a create and a read operation): `--token` reads it back,
   `--token-b` must not see it (a second account: isolation needs two), `--admin-token` must
   see it (the same account) and must not be refused an operation the spec declares
   `admin: true` with 403. Where the spec gives no way to probe a role (no admin-only
   operation, no resource to write, a server that shows the record to a key it cannot know),
   the run goes on with a note saying what was not checked. A key's visibility cannot tell a
   key of the wrong account from a server that mixes accounts up; where the control plane
   knows the key's sandbox, it decides, and a server at fault is left to the requirements.
"""

from dataclasses import dataclass, replace

from conformance.http import TranscriptClient
from conformance.records import Created, create_record, creator_of, parse_json
from conformance.requests import body_kwargs, headers_for, params_for, path_for, valid_body
from conformance.results import Exchange
from conformance.target import PLACEHOLDERS, Target, bearer
from conformance.watch import LIMIT
from kycspec.model import Operation

UNREACHABLE = "cannot reach {url}: {error}"
NOT_SERVED = (
    "{url} does not serve the {api} API: every list the spec declares answered 404 "
    "({count} tried); --base-url is the spec's server URL with the host swapped"
)
TOKEN_REFUSED = "the server refused {option} with {status} on {operation}; give a key it accepts"
TOKEN_UNJUDGED = (
    "cannot judge {option}: no list answered with a status line ({count} tried; the first: {error})"
)
CONTROL_SILENT = (
    "the control plane at {url} did not answer ({answer}); --control-url is the mock's "
    "control plane (http://host:port/__mock)"
)
CONTROL_UNKNOWN_TOKEN = (
    "the control plane at {url} does not know the sandbox of --token ({answer}); "
    "name it with --sandbox"
)
TOKEN_B_SAME_ACCOUNT = (
    "--token-b sees a record --token wrote ({operation} answered {status}): it is a key of "
    "--token's account (or the server does not keep accounts apart); give a key of a second "
    "account (isolation needs two)"
)
ADMIN_OTHER_ACCOUNT = (
    "--admin-token cannot see a record --token wrote ({operation} answered {status}): it is a "
    "key of another account (or the server does not let its admin keys see it); give an admin "
    "key of --token's account"
)
KEYS_UNCHECKED = "a key the server cannot know ({operation} answered {status})"
UNKNOWN_KEY = "conformance-unknown-key"
ADMIN_NOT_ADMIN = (
    "--admin-token was refused the admin-only {operation} with 403: it is not an admin key; "
    "give a key with admin rights in --token's account"
)
ADMIN_ROLE_UNPROBED = (
    "the admin role of --admin-token was not checked: the spec declares no admin-only "
    "operation the preflight can send"
)
ACCOUNTS_UNPROBED = "the accounts of {options} were not checked: {reason}"
NO_PROBE_RESOURCE = "the spec declares no resource with a create and a read operation"
PROBE_NOT_WRITTEN = "--token could not write the {resource} record ({operation} answered {status})"
PROBE_NOT_READ = (
    "--token could not read back the {resource} it wrote ({operation} answered {status})"
)
SANDBOX_UNKNOWN = "the control plane at {url} has no clock for sandbox {sandbox!r} ({answer})"
REFUSED_STATUSES = (401, 403)
TOKEN_SHOWN = PLACEHOLDERS["token"]
TOKEN_OPTIONS = {"token": "--token", "token_b": "--token-b", "admin_token": "--admin-token"}


# The answers so far, by token and operation: a request is asked once, and a token is judged by
# the answer that showed the base URL serves the spec (a server may answer only once).
Asked = dict[tuple[str, str], Exchange]


@dataclass(frozen=True)
class Problem:
    """Why the run cannot go on, and the request that showed it."""

    message: str
    exchange: Exchange | None = None

    def __str__(self) -> str:
        if self.exchange is None:
            return self.message
        shown = self.exchange.response_text(200)
        return f"{self.message}\n  {self.exchange.as_curl()}\n  -> {shown}"


def _lists(target: Target) -> list[Operation]:
    """The spec's GET operations without path parameters, user operations first."""
    found = [
        op for op in target.spec.operations.values() if op.method == "GET" and not op.path_param
    ]
    return sorted(found, key=lambda op: op.admin)


def _answer(exchange: Exchange) -> str:
    return str(exchange.status) if exchange.error is None else exchange.error


def preflight(target: Target) -> tuple[Target, Problem | None, tuple[str, ...]]:
    """The target with its sandbox filled in, or the problem that stops the run; and notes on
    what the preflight could not check (a role the spec gives no way to probe)."""
    notes: list[str] = []
    with TranscriptClient(target) as client:
        asked: Asked = {}
        problem = _served(client, target, asked) or _tokens(client, target, asked)
        if problem is None and target.control_url:
            target, problem = _control(client, target)
        if problem is None:
            problem = _roles(client, target, notes)
    return target, problem, tuple(notes)


def _served(client: TranscriptClient, target: Target, asked: Asked) -> Problem | None:
    first = client.request("GET", target.base_url, absolute=True)
    if first.error and _status(first) is None:  # an answer cut off at a limit is an answer
        return Problem(UNREACHABLE.format(url=target.base_url, error=first.error), first)
    lists = _lists(target)
    answers = [_send(client, target, op, target.token, asked) for op in lists]
    if answers and all(_status(a) == 404 for a in answers):
        message = NOT_SERVED.format(url=target.base_url, api=target.api, count=len(answers))
        return Problem(message, answers[0])
    return None


def _send(
    client: TranscriptClient, target: Target, op: Operation, token: str, asked: Asked
) -> Exchange:
    key = (token, op.operation_id)
    if key not in asked:
        headers = headers_for(op, target, token)
        asked[key] = client.request(op.method, path_for(op), headers=headers)
    return asked[key]


def _status(exchange: Exchange) -> int | None:
    """The status line of an answer, kept when its body was cut off at a limit."""
    return exchange.cut_status if exchange.outage == LIMIT else exchange.status


def _tokens(client: TranscriptClient, target: Target, asked: Asked) -> Problem | None:
    lists = [op for op in _lists(target) if not op.admin]
    for name, option in TOKEN_OPTIONS.items():
        token = getattr(target, name)
        if token is None:
            continue
        # A token is judged by the status of the first list that answers one: an answer cut
        # off at a limit still has its status line, and the limit is left to the requirements.
        exchanges = []
        for op in lists:
            exchanges.append(_send(client, target, op, token, asked))
            if _status(exchanges[-1]) is not None:
                break
        if not exchanges:
            return None
        exchange, operation = exchanges[-1], lists[len(exchanges) - 1].operation_id
        status = _status(exchange)
        if status in REFUSED_STATUSES:
            message = TOKEN_REFUSED.format(option=option, status=status, operation=operation)
            return Problem(message, exchange)
        if status is None:
            first = exchanges[0]
            message = TOKEN_UNJUDGED.format(
                option=option, count=len(exchanges), error=first.error or ""
            )
            return Problem(message, first)
    return None


def _roles(client: TranscriptClient, target: Target, notes: list[str]) -> Problem | None:
    """Each key in the role it is given for (module docstring, point 4), or the first that is
    not; what cannot be probed goes into `notes`."""
    keys = {"--token-b": target.token_b, "--admin-token": target.admin_token}
    given = [option for option, key in keys.items() if key]
    if not target.spec.stateful or not given:
        return None
    created, reader, reason = _probe_record(client, target)
    if created is None or reader is None:
        notes.append(ACCOUNTS_UNPROBED.format(options=" and ".join(given), reason=reason))
        return None
    # A server that shows the record to a key it cannot know does not tell accounts apart at
    # all: that is for the security requirements to fail, not a misassigned key.
    unknown = _read(client, target, reader, created, UNKNOWN_KEY)
    if _seen(unknown):
        reason = KEYS_UNCHECKED.format(operation=reader.operation_id, status=_answer(unknown))
        notes.append(ACCOUNTS_UNPROBED.format(options=" and ".join(given), reason=reason))
        return None
    if target.token_b is not None:
        other = _read(client, target, reader, created, target.token_b)
        if _seen(other) and _same_account(client, target, target.token_b) is not False:
            message = TOKEN_B_SAME_ACCOUNT.format(
                operation=reader.operation_id, status=_answer(other)
            )
            return Problem(message, other)
    if target.admin_token is not None:
        return _admin(client, target, reader, created, notes)
    return None


def _probe_record(
    client: TranscriptClient, target: Target
) -> tuple[Created | None, Operation | None, str]:
    """A record `--token` wrote and reads back, with its read operation; or why there is none."""
    resource = _probe_resource(target)
    if resource is None:
        return None, None, NO_PROBE_RESOURCE
    creator = creator_of(target.spec, resource)
    reader = _reader(target, resource)
    assert creator is not None and reader is not None  # _probe_resource found both
    created, written = create_record(client, creator, target.token)
    if created is None:
        status = _answer(written)
        return (
            None,
            None,
            PROBE_NOT_WRITTEN.format(
                resource=resource, operation=creator.operation_id, status=status
            ),
        )
    own = _read(client, target, reader, created, target.token)
    if not _seen(own):
        status = _answer(own)
        return (
            None,
            None,
            PROBE_NOT_READ.format(resource=resource, operation=reader.operation_id, status=status),
        )
    return created, reader, ""


def _same_account(client: TranscriptClient, target: Target, key: str) -> bool | None:
    """Whether the control plane puts `key` in `--token`'s sandbox (None without one): when
    it does know, a key's visibility that disagrees is the server's fault, and the security
    requirements judge it."""
    if not target.control_url or target.sandbox is None:
        return None
    found = client.request(
        "POST",
        target.control_url.rstrip("/") + "/introspect",
        data={"token": key, "api": target.api},
        headers=bearer(target.control_token),
        absolute=True,
    )
    body = parse_json(found) if found.status == 200 else None
    if not isinstance(body, dict) or not isinstance(body.get("sandbox"), str):
        return None
    return bool(body["sandbox"] == target.sandbox)


def _reader(target: Target, resource: str) -> Operation | None:
    readers = [op for op in target.spec.operations_of(resource, "read") if not op.admin]
    return readers[0] if readers else None


def _probe_resource(target: Target) -> str | None:
    """The resource the role probes write: one with a create and a read, preferably one an
    admin-only operation acts on."""
    spec = target.spec
    usable = [
        name
        for name in spec.resources
        if creator_of(spec, name) is not None and _reader(target, name) is not None
    ]
    admin = [op.resource.name for op in spec.operations.values() if op.admin]
    preferred = [name for name in usable if name in admin]
    return next(iter(preferred or usable), None)


def _read(
    client: TranscriptClient, target: Target, reader: Operation, created: Created, token: str
) -> Exchange:
    return client.request(
        reader.method,
        created.path(reader),
        headers=headers_for(reader, target, token),
        params=params_for(reader, token) or None,
    )


def _seen(exchange: Exchange) -> bool:
    status = _status(exchange)
    return status is not None and 200 <= status < 300


def _admin(
    client: TranscriptClient,
    target: Target,
    reader: Operation,
    created: Created,
    notes: list[str],
) -> Problem | None:
    """--admin-token sees the record (same account) and may call an admin-only operation on it
    (or one without a record in its path)."""
    token = target.admin_token or ""
    seen = _read(client, target, reader, created, token)
    if not _seen(seen) and _same_account(client, target, token) is not True:
        message = ADMIN_OTHER_ACCOUNT.format(operation=reader.operation_id, status=_answer(seen))
        return Problem(message, seen)
    probes = [
        op
        for op in target.spec.operations.values()
        if op.admin and (op.path_param is None or op.resource.name == created.op.resource.name)
    ]
    if not probes:
        notes.append(ADMIN_ROLE_UNPROBED)
        return None
    op = probes[0]
    content_type, payload = valid_body(op)
    path = created.path(op) if op.path_param else path_for(op, None, created.params)
    exchange = client.request(
        op.method,
        path,
        headers=headers_for(op, target, token),
        params=params_for(op, token) or None,
        **body_kwargs(op, content_type, payload),
    )
    if _status(exchange) == 403:
        return Problem(ADMIN_NOT_ADMIN.format(operation=op.operation_id), exchange)
    return None


def _control(client: TranscriptClient, target: Target) -> tuple[Target, Problem | None]:
    url = (target.control_url or "").rstrip("/")
    auth = bearer(target.control_token)
    status = client.request("GET", url + "/", headers=auth, absolute=True)
    if status.status != 200 or not isinstance(parse_json(status), dict):
        return target, Problem(CONTROL_SILENT.format(url=url, answer=_answer(status)), status)
    sandbox = target.sandbox
    if sandbox is None:
        found = client.request(
            "POST",
            url + "/introspect",
            data={"token": target.token, "api": target.api},
            headers=auth,
            absolute=True,
        )
        found = replace(found, request_body=f"token={TOKEN_SHOWN}&api={target.api}".encode())
        body = parse_json(found) if found.error is None else None
        if (
            found.status != 200
            or not isinstance(body, dict)
            or body.get("active") is not True
            or not isinstance(body.get("sandbox"), str)
        ):
            problem = CONTROL_UNKNOWN_TOKEN.format(url=url, answer=_answer(found))
            return target, Problem(problem, found)
        sandbox = body["sandbox"]
    clock = client.request("GET", f"{url}/sandboxes/{sandbox}/clock", headers=auth, absolute=True)
    if clock.status != 200:
        problem = SANDBOX_UNKNOWN.format(url=url, sandbox=sandbox, answer=_answer(clock))
        return target, Problem(problem, clock)
    return replace(target, sandbox=sandbox), None
