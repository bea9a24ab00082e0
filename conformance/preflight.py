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
   never read out of the token itself.
"""

from dataclasses import dataclass, replace

from conformance.http import TranscriptClient
from conformance.records import parse_json
from conformance.requests import headers_for, path_for
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


def preflight(target: Target) -> tuple[Target, Problem | None]:
    """The target with its sandbox filled in, or the problem that stops the run."""
    with TranscriptClient(target) as client:
        asked: Asked = {}
        problem = _served(client, target, asked) or _tokens(client, target, asked)
        if problem is None and target.control_url:
            return _control(client, target)
    return target, problem


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
