"""Every operation, parameter and field the vendor docs name is in the spec.

The table below is written from the seed documents in shared/seeds (not from the specs): 000 and
001 for Fin X, 002 for Kontorion, 003 for FinHub. Paths are the documented ones, from the host
(FinHub's include the `/api/v2.1` of its base URL), with `:id` written `{id}`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlparse

import pytest

from kycspec import SPECS_DIR
from kycspec.loader import HTTP_METHODS, inline_refs, read_document


@dataclass(frozen=True)
class Documented:
    api: str
    method: str
    path: str
    path_params: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    headers: Mapping[str, bool | None] = field(default_factory=dict)  # name -> required
    required_body: tuple[str, ...] = ()
    optional_body: tuple[str, ...] = ()
    body_enums: Mapping[str, frozenset[Any]] = field(default_factory=dict)  # the exact values
    body_values: Mapping[str, frozenset[Any]] = field(default_factory=dict)  # values accepted
    response_fields: tuple[str, ...] = ()  # dotted; `name[]` steps into array items
    response_values: Mapping[str, frozenset[Any]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.api} {self.method} {self.path}"


FINX_MODEL = (
    "id",
    "customer_id",
    "verification_status",
    "document_type",
    "document_number",
    "created_at",
    "updated_at",
)
FINX_STATUSES = frozenset({"pending", "verified", "failed"})
FINX_FIELDS = ("verification_status", "document_type", "document_number")


def _finx_rows(base: str) -> list[Documented]:
    item = f"{base}/{{id}}"
    return [
        Documented(
            "finx",
            "get",
            base,
            query=("limit", "customer_id", "verification_status"),
            response_fields=("has_more", "data", *(f"data[].{name}" for name in FINX_MODEL)),
        ),
        Documented(
            "finx",
            "post",
            base,
            required_body=("customer_id", *FINX_FIELDS),
            body_values={"verification_status": FINX_STATUSES},
            response_fields=FINX_MODEL,
        ),
        Documented("finx", "get", item, path_params=("id",), response_fields=FINX_MODEL),
        Documented(
            "finx",
            "put",
            item,
            path_params=("id",),
            optional_body=FINX_FIELDS,
            body_values={"verification_status": FINX_STATUSES},
            response_fields=FINX_MODEL,
        ),
        Documented("finx", "delete", item, path_params=("id",)),
    ]


KONTORION_MODEL = (
    "actor_id",
    "check_type",
    "created_at",
    "customer_id",
    "expires_at",
    "id",
    "last_checked_at",
    "organization_id",
    "provider",
    "provider_reference",
    "reason",
    "result_payload",
    "status",
    "updated_at",
    "verification_type",
    "verified_at",
)
KONTORION_STATUSES = frozenset({"pending", "verified", "failed", "expired"})
KONTORION_ENVELOPE = ("data", *(f"data.{name}" for name in KONTORION_MODEL))
KONTORION_STATUS = {"data.status": KONTORION_STATUSES}

FINHUB = "/api/v2.1"
FINHUB_CUSTOMER = f"{FINHUB}/customer/individual/{{customerId}}/verification"
FINHUB_VERIFICATION = f"{FINHUB}/verifications/{{verificationId}}"
FINHUB_DOCUMENTS = frozenset({"GOVERNMENT_ID", "PROOF_OF_ADDRESS", "SOURCE_OF_FUNDS"})
FINHUB_STATUSES = frozenset(
    {"INITIATED", "PENDING_DOCUMENTS", "PENDING_REVIEW", "APPROVED", "REJECTED"}
)
APPROVAL_LEVELS = frozenset({"TENANT_VERIFIED", "POWER_TENANT_VERIFIED"})
TEXTS = ("approvalReason", "notes", "adminNotes")

DOCUMENTED: list[Documented] = [
    *_finx_rows("/v1/customer-verifications"),
    *_finx_rows("/v1/kyc"),
    Documented(
        "kontorion",
        "get",
        "/v1/customer-verifications",
        query=(
            "customer_id",
            "status",
            "verification_type",
            "occurred_after",
            "occurred_before",
            "limit",
            "cursor",
        ),
        response_fields=("data", *(f"data[].{name}" for name in KONTORION_MODEL)),
        response_values={"data[].status": KONTORION_STATUSES},
    ),
    Documented(
        "kontorion",
        "post",
        "/v1/customer-verifications",
        required_body=("check_type", "customer_id", "provider", "verification_type"),
        response_fields=KONTORION_ENVELOPE,
        response_values=KONTORION_STATUS,
    ),
    Documented(
        "kontorion",
        "get",
        "/v1/customer-verifications/{id}",
        path_params=("id",),
        response_fields=KONTORION_ENVELOPE,
        response_values=KONTORION_STATUS,
    ),
    Documented(
        "kontorion",
        "patch",
        "/v1/customer-verifications/{id}/status",
        path_params=("id",),
        required_body=("status",),
        # approve, reject, expire
        body_values={"status": frozenset({"verified", "failed", "expired"})},
        response_fields=KONTORION_ENVELOPE,
        response_values=KONTORION_STATUS,
    ),
    Documented(
        "finhub",
        "post",
        f"{FINHUB_CUSTOMER}/initiate",
        path_params=("customerId",),
        headers={"X-Tenant-ID": True, "X-Forwarded-For": True, "User-Agent": True},
        response_fields=(
            "success",
            "data.verificationId",
            "data.status",
            "data.requiredDocuments",
            "data.createdAt",
        ),
        response_values={
            "data.status": frozenset({"INITIATED"}),
            "data.requiredDocuments[]": FINHUB_DOCUMENTS,
        },
    ),
    Documented(
        "finhub",
        "post",
        FINHUB_CUSTOMER,
        path_params=("customerId",),
        headers={"X-Tenant-ID": None, "X-Forwarded-For": None, "User-Agent": None},
        required_body=("verificationType", "verificationData"),
        optional_body=(
            "verificationData.documentType",
            "verificationData.documentNumber",
            "approvedBy",
            "approvalLevel",
            *TEXTS,
        ),
        body_enums={"verificationType": frozenset({"STANDARD", "ENHANCED", "SIMPLIFIED"})},
        body_values={"verificationData.documentType": frozenset({"PASSPORT"})},
        response_fields=("success", "data.verificationId", "data.status", "data.submittedAt"),
        response_values={"data.status": frozenset({"PENDING_REVIEW"})},
    ),
    Documented(
        "finhub",
        "get",
        FINHUB_VERIFICATION,
        path_params=("verificationId",),
        headers={"X-Tenant-ID": None},
        response_fields=(
            "success",
            "data.verificationId",
            "data.status",
            "data.customerId",
            "data.documentsSubmitted",
            "data.documentsRequired",
            "data.updatedAt",
        ),
        response_values={"data.status": FINHUB_STATUSES},
    ),
    Documented(
        "finhub",
        "post",
        f"{FINHUB_VERIFICATION}/documents",
        path_params=("verificationId",),
        headers={"X-Tenant-ID": None},
    ),
    Documented(
        "finhub",
        "post",
        f"{FINHUB_VERIFICATION}/approve",
        path_params=("verificationId",),
        headers={"X-Tenant-ID": True},
        required_body=("approvedBy", "approvalLevel"),
        optional_body=TEXTS,
        body_enums={"approvalLevel": APPROVAL_LEVELS},
        response_fields=(
            "code",
            "message",
            "data.verificationId",
            "data.status",
            "data.approvalLevel",
            "data.approvedBy",
            "data.approvedAt",
            "data.customerId",
            "data.customerStatus",
            "data.nextStep",
        ),
        response_values={
            "code": frozenset({200}),
            "data.status": frozenset({"APPROVED"}),
            "data.approvalLevel": APPROVAL_LEVELS,
            "data.customerStatus": frozenset({"VERIFIED"}),
            "data.nextStep": frozenset({"ACTIVATION"}),
        },
    ),
]


@cache
def _document(api: str) -> dict[str, Any]:
    return read_document(SPECS_DIR / f"{api}.yaml")


def _base_path(document: dict[str, Any]) -> str:
    return urlparse(document["servers"][0]["url"]).path.rstrip("/")


def _operation(row: Documented) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The spec's operation for the row, inlined, and its parameters (path-level included)."""
    document = _document(row.api)
    base = _base_path(document)
    assert row.path.startswith(base), f"{row.path} is outside the server URL path {base!r}"
    relative = row.path[len(base) :]
    assert relative in document["paths"], f"{row.key}: no path {relative!r} in the spec"
    path_item = inline_refs(document, document["paths"][relative])
    assert row.method in path_item, f"{row.key}: the path has no {row.method.upper()}"
    operation = path_item[row.method]
    return document, operation, [*path_item.get("parameters", []), *operation.get("parameters", [])]


def _properties(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    properties = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    for part in schema.get("allOf", []):
        more, more_required = _properties(part)
        properties.update(more)
        required += more_required
    return properties, required


def _field(schema: dict[str, Any], dotted: str) -> tuple[dict[str, Any], bool]:
    """The schema of a dotted field, and whether its parent object requires it."""
    required = False
    for step in dotted.split("."):
        name, into_items = step.removesuffix("[]"), step.endswith("[]")
        properties, required_names = _properties(schema)
        assert name in properties, f"no field {name!r} (of {dotted!r}) in {sorted(properties)}"
        schema, required = properties[name], name in required_names
        if into_items:
            assert schema.get("type") == "array", f"{dotted}: {name} is not an array"
            schema = schema["items"]
    return schema, required


def _values(schema: dict[str, Any]) -> set[Any]:
    enum = set(schema.get("enum", []))
    for part in schema.get("allOf", []):
        enum |= _values(part)
    return enum


def _body_schemas(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    return {media_type: holder["schema"] for media_type, holder in content.items()}


def _success_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    codes = [code for code in operation["responses"] if str(code).startswith("2")]
    assert len(codes) == 1, f"expected one success response, found {codes}"
    content = operation["responses"][codes[0]].get("content", {})
    if not content:
        return None
    assert "application/json" in content
    return content["application/json"]["schema"]


ROWS = [pytest.param(row, id=row.key) for row in DOCUMENTED]


@pytest.mark.parametrize("row", ROWS)
def test_documented_operation_exists(row: Documented) -> None:
    _, operation, _ = _operation(row)
    assert operation["operationId"]


@pytest.mark.parametrize("row", ROWS)
def test_documented_operation_declares_its_parameters(row: Documented) -> None:
    _, _, parameters = _operation(row)
    by_place: dict[str, dict[str, dict[str, Any]]] = {}
    for param in parameters:
        by_place.setdefault(param["in"], {})[param["name"].lower()] = param
    for name in row.path_params:
        assert by_place.get("path", {})[name.lower()]["required"] is True
    assert {q.lower() for q in row.query} <= set(by_place.get("query", {}))
    for name, required in row.headers.items():
        declared = by_place.get("header", {}).get(name.lower())
        assert declared is not None, f"{row.key}: header {name} is not declared"
        if required is not None:
            assert bool(declared.get("required")) is required, f"{row.key}: {name} required"


@pytest.mark.parametrize("row", ROWS)
def test_documented_operation_accepts_its_body_fields(row: Documented) -> None:
    _, operation, _ = _operation(row)
    bodies = _body_schemas(operation)
    fields = (*row.required_body, *row.optional_body)
    if not fields:
        return
    assert bodies, f"{row.key}: no request body"
    for media_type, schema in bodies.items():
        for name in row.required_body:
            _, required = _field(schema, name)
            assert required, f"{row.key} {media_type}: {name} is not required"
        for name in row.optional_body:
            _field(schema, name)
        for name, values in row.body_enums.items():
            assert _values(_field(schema, name)[0]) == values, f"{row.key}: {name} enum"
        for name, values in row.body_values.items():
            enum = _values(_field(schema, name)[0])
            assert values <= enum, f"{row.key}: {name} refuses documented {values - enum}"


@pytest.mark.parametrize("row", ROWS)
def test_documented_operation_returns_its_response_fields(row: Documented) -> None:
    _, operation, _ = _operation(row)
    schema = _success_schema(operation)
    if not row.response_fields:
        return
    assert schema is not None, f"{row.key}: the success response has no body"
    for name in row.response_fields:
        _, required = _field(schema, name)
        assert required, f"{row.key}: documented response field {name} is not required"
    for name, values in row.response_values.items():
        enum = _values(_field(schema, name)[0])
        assert values <= enum, f"{row.key}: {name} cannot be {values - enum}"


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_spec_operation_is_documented_or_decided(api: str) -> None:
    """The other direction: an operation the docs do not show must carry an x-decision."""
    document = _document(api)
    base = _base_path(document)
    documented = {(row.method, row.path) for row in DOCUMENTED if row.api == api}
    for path, path_item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in path_item and (method, base + path) not in documented:
                assert "x-decision" in path_item[method], f"{method.upper()} {path} undocumented"


def test_finhub_server_url_is_the_documented_base_url() -> None:
    assert _document("finhub")["servers"][0]["url"] == "https://sandbox.finhub.cloud/api/v2.1"


def test_finx_server_url_is_the_documented_host() -> None:
    assert _document("finx")["servers"][0]["url"] == "https://api.finx.ai"


def test_finhub_statuses_are_the_documented_statuses() -> None:
    document = _document("finhub")
    status = inline_refs(document, document["components"]["schemas"]["Status"])
    assert set(status["enum"]) == FINHUB_STATUSES
    assert set(document["x-resources"]["verification"]["lifecycle"]["states"]) == FINHUB_STATUSES


def test_kontorion_statuses_are_the_documented_lifecycle() -> None:
    document = _document("kontorion")
    assert set(document["x-resources"]["verification"]["lifecycle"]["states"]) == (
        KONTORION_STATUSES
    )


def test_finhub_documented_response_codes_are_declared() -> None:
    """The docs' response code table: 200, 400, 404 and 500."""
    document = _document("finhub")
    declared: set[str] = set()
    for path_item in document["paths"].values():
        for method in HTTP_METHODS:
            if method in path_item:
                codes = {str(code) for code in path_item[method]["responses"]}
                assert {"200", "400", "500"} <= codes, f"{method} missing a documented code"
                declared |= codes
    assert {"200", "400", "404", "500"} <= declared


def test_coverage_table_lists_every_documented_operation() -> None:
    counts = {api: sum(row.api == api for row in DOCUMENTED) for api in ("finx", "kontorion")}
    assert counts == {"finx": 10, "kontorion": 4}
    assert sum(row.api == "finhub" for row in DOCUMENTED) == 5
    assert len({row.key for row in DOCUMENTED}) == len(DOCUMENTED)
