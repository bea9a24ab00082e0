"""The schema and security layers for a plain document (no `x-` behaviour, a stateless API).

A plain document names operations, schemas and security schemes, but no records: the schema
layer drives schemathesis over every operation in the document (its response and data checks,
as for any API), and the security layer checks that every operation the document secures
refuses a request without credentials. What needs records or knows valid credentials
(`accounts_isolated`, `invalid_token_refused`, the stateful checks) is SKIPPED with the
reason. An invalid request refused with a 4xx the document does not declare is not a
status_code_conformance failure (`NOT_JUDGED`); valid data is judged accepted only when it went
out as generated and its numbers are ones JSON parsers interoperate on (`interoperable`).

Requests carry `--token` where the operation's first security requirement puts it: a bearer or
OAuth token in `Authorization`, Basic credentials (`token:`), an API key in its header, query
parameter or cookie.
"""

import base64
import functools
from typing import Any

import requests
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from conformance.events import LayerStarted, Progress
from conformance.layers.schema import (
    MODE_CHECKS,
    RESPONSE_CHECKS,
    BoundedSession,
    _drive,
    _load_schema,
    _Run,
    _sent_as_generated,
    _validate,
    call_case,
    exchange_of,
)
from conformance.numbers import interoperable
from conformance.requirements import Requirement
from conformance.results import Exchange, Result
from conformance.sentforms import valid_as_sent
from conformance.settings import Emit, Settings
from conformance.tally import Tally, results_of, tallies_for
from conformance.target import Target
from kycspec.formfields import FORM_MEDIA
from kycspec.loader import inline_refs
from kycspec.stateless import operations
from kycspec.types import JSONObject

STATELESS = "the document declares no x- extensions (a stateless API): {what}"
NO_RECORDS = STATELESS.format(what="it has no records to check")
NO_VALID_CREDENTIALS = STATELESS.format(what="it does not say which credentials are valid")
UNSECURED = "no operation of the document declares security (securitySchemes)"
# OpenAPI 3.0.3, Responses Object: a document need not cover every status, only the success
# and its known errors. A plain document declares no error behaviour, so an invalid request
# refused with a 4xx the operation does not declare is no status_code_conformance failure
# (Schemathesis makes that check configurable for this reason); its other checks still run, a
# declared 4xx must match its schema, and a valid request answered with an undeclared status
# still fails.
NOT_JUDGED = {("status_code_conformance", GenerationMode.NEGATIVE, 4)}


def credentials(document: JSONObject, operation: JSONObject, token: str | None) -> JSONObject:
    """Where `token` goes for the operation: `{"headers": {...}, "query": {...}}`."""
    placed: JSONObject = {"headers": {}, "query": {}}
    requirements = operation.get("security", document.get("security")) or []
    if token is None or not requirements:
        return placed
    schemes = document.get("components", {}).get("securitySchemes", {})
    for name in requirements[0]:
        scheme = schemes.get(name, {})
        kind, where = scheme.get("type"), scheme.get("in")
        if kind == "apiKey" and where == "query":
            placed["query"][scheme["name"]] = token
        elif kind == "apiKey" and where == "cookie":
            placed["headers"]["Cookie"] = f"{scheme['name']}={token}"
        elif kind == "apiKey":
            placed["headers"][scheme["name"]] = token
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            encoded = base64.b64encode(f"{token}:".encode()).decode()
            placed["headers"]["Authorization"] = f"Basic {encoded}"
        else:  # http bearer, oauth2, openIdConnect
            placed["headers"]["Authorization"] = f"Bearer {token}"
    return placed


def _secured(document: JSONObject, operation: JSONObject) -> bool:
    requirements = operation.get("security", document.get("security")) or []
    return bool(requirements) and all(requirements)  # `{}` makes credentials optional


def declares_security(document: JSONObject) -> bool:
    """Whether any operation of the document requires credentials."""
    return any(_secured(document, raw) for _, _, raw in operations(document))


def _operations(target: Target) -> list[tuple[Any, JSONObject]]:
    schema = _load_schema(target)
    paths = target.spec.document.get("paths", {})
    return [
        (result.ok(), paths[result.ok().path][result.ok().method.lower()])
        for result in schema.get_all_operations()
        if isinstance(result, Ok)
    ]


def run_plain_schema(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The schema layer for a plain document (see the `Layer` contract)."""
    tallies = tallies_for(catalogue, "schema")
    for check in ("use_after_free", "ensure_resource_availability"):
        if check in tallies:
            tallies[check].skip(NO_RECORDS)
    operations = _operations(target)
    emit(LayerStarted(target.api, "schema", len(operations)))
    run = _Run(target, settings, tallies, BoundedSession(target), None)
    try:
        for done, (operation, raw) in enumerate(operations, 1):
            placed = credentials(target.spec.document, raw, target.token)
            form = _form(target.spec.document, raw)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if run.out_of_time:
                    break
                strategy = operation.as_strategy(generation_mode=mode)
                body = functools.partial(_one_case, run, operation.label, placed, form, mode)
                _drive(run, strategy, body)
            emit(Progress(target.api, "schema", done))
    finally:
        run.session.close()
    return results_of(tallies, settings.seed)


def _form(document: JSONObject, operation: JSONObject) -> JSONObject:
    """The operation's urlencoded Media Type Object, refs inlined (empty if it takes none)."""
    body = inline_refs(document, operation.get("requestBody") or {})
    form: JSONObject = (body.get("content") or {}).get(FORM_MEDIA) or {}
    return form


def _one_case(
    run: _Run, label: str, placed: JSONObject, form: JSONObject, mode: GenerationMode, case: Any
) -> None:
    headers = dict(placed["headers"])
    case.query = {**(case.query or {}), **placed["query"]} if placed["query"] else case.query
    response = call_case(run, case, headers, headers, label)
    if response is None:
        return
    exchange = exchange_of(response, run.target)
    judged = _sent_as_generated(case, response) and (
        mode is GenerationMode.NEGATIVE or interoperable([case.body, case.query])
    )
    if mode is GenerationMode.NEGATIVE and valid_as_sent(
        form.get("schema"), form.get("encoding") or {}, case.media_type, response.request.body
    ):
        judged = False  # the form made the invalid value valid on the way
    # Data the suite cannot call valid proves nothing when it is refused: neither that valid
    # data is accepted nor, with a 4xx, that the refusal's status is wrong (as `NOT_JUDGED`).
    unjudged = set()
    if not judged:
        unjudged.add(MODE_CHECKS[mode])
        if response.status_code // 100 == 4:
            unjudged.add("status_code_conformance")
    for name in (*RESPONSE_CHECKS, MODE_CHECKS[mode]):
        tally = run.tallies.get(name)
        if tally is None or (name, mode, response.status_code // 100) in NOT_JUDGED:
            continue
        if name in unjudged:
            continue
        tally.ran()
        problem = _validate(case, response, name, headers)
        if problem:
            tally.fail(f"{label} ({mode.value} data): {problem}", [exchange])


def run_plain_security(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The security layer for a plain document (see the `Layer` contract)."""
    tallies = tallies_for(catalogue, "security")
    for check, tally in tallies.items():
        if check == "invalid_token_refused":
            tally.skip(NO_VALID_CREDENTIALS)
        elif check != "missing_token_refused":
            tally.skip(NO_RECORDS)
    missing = tallies.get("missing_token_refused")
    operations = _operations(target)
    emit(LayerStarted(target.api, "security", len(operations)))
    run = _Run(target, settings, {}, BoundedSession(target), None)
    try:
        for done, (operation, raw) in enumerate(operations, 1):
            if missing is not None and _secured(target.spec.document, raw):
                strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
                names = _credential_names(target.spec.document, raw)
                _drive(run, strategy, functools.partial(_without_credentials, run, missing, names))
            emit(Progress(target.api, "security", done))
    finally:
        run.session.close()
    if missing is not None:
        missing.skip(UNSECURED)
    return results_of(tallies, settings.seed)


def _credential_names(document: JSONObject, operation: JSONObject) -> tuple[set[str], set[str]]:
    """The header (lower case) and query names any of the operation's schemes reads."""
    headers, query = {"authorization", "cookie"}, set()
    schemes = document.get("components", {}).get("securitySchemes", {})
    for requirement in operation.get("security", document.get("security")) or []:
        for name in requirement:
            scheme = schemes.get(name, {})
            if scheme.get("type") == "apiKey" and scheme.get("in") == "query":
                query.add(scheme["name"])
            elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                headers.add(scheme["name"].lower())
    return headers, query


def _without_credentials(
    run: _Run, tally: Tally, names: tuple[set[str], set[str]], case: Any
) -> None:
    headers, query = names
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in headers}
    case.query = {k: v for k, v in (case.query or {}).items() if k not in query}
    base_url = run.target.base_url.rstrip("/")
    label = f"{case.operation.method.upper()} {case.operation.path}"
    try:
        response = case.call(base_url=base_url, session=run.session, timeout=run.target.timeout)
    except requests.RequestException as exc:
        tally.ran()
        tally.fail(f"{label} without credentials: no response ({exc})", [])
        return
    tally.ran()
    if response.status_code != 401:
        exchange: Exchange = exchange_of(response, run.target)
        tally.fail(
            f"{label} without credentials answered {response.status_code}, not 401", [exchange]
        )
