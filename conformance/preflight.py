"""Preflight: before any requirement runs, show that the run can judge this server at all.

A misconfigured run (a base URL that serves nothing, a token the server refuses, a control plane
that does not answer) would otherwise fail or skip dozens of requirements for one reason. It is
"could not run" instead (exit 2): one sentence, and the request that showed it.

The checks, in order:

1. the base URL answers at all;
2. it serves the spec: the spec's lists (GET operations without path parameters) do not all
   answer 404;
3. every given token (`--token`, `--token-b`, `--admin-token`) is accepted by a list (no 401 or
   403);
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
        problem = _served(client, target) or _tokens(client, target)
        if problem is None and target.control_url:
            return _control(client, target)
    return target, problem


def _served(client: TranscriptClient, target: Target) -> Problem | None:
    first = client.request("GET", target.base_url, absolute=True)
    if first.error and first.outage != LIMIT:  # an answer cut off at a limit is an answer
        return Problem(UNREACHABLE.format(url=target.base_url, error=first.error), first)
    lists = _lists(target)
    answers = [_send(client, target, op, target.token) for op in lists]
    if answers and all(a.status == 404 for a in answers):
        message = NOT_SERVED.format(url=target.base_url, api=target.api, count=len(answers))
        return Problem(message, answers[0])
    return None


def _send(client: TranscriptClient, target: Target, op: Operation, token: str) -> Exchange:
    return client.request(op.method, path_for(op), headers=headers_for(op, target, token))


def _tokens(client: TranscriptClient, target: Target) -> Problem | None:
    lists = [op for op in _lists(target) if not op.admin]
    if not lists:
        return None
    for name, option in TOKEN_OPTIONS.items():
        token = getattr(target, name)
        if token is None:
            continue
        exchange = _send(client, target, lists[0], token)
        # An answer cut off at a limit still has its status line: the token is judged by it,
        # and the limit is left to the requirement that reads the body.
        status = exchange.cut_status if exchange.outage == LIMIT else exchange.status
        if status is None or status in REFUSED_STATUSES:
            message = TOKEN_REFUSED.format(
                option=option, status=_answer(exchange), operation=lists[0].operation_id
            )
            return Problem(message, exchange)
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
