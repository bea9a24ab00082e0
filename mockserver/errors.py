"""Errors the mock answers with, rendered in each vendor's own envelope (`x-errors`).

MockError                      status  kind
├── InvalidRequest             400     invalid_request
├── Unauthorized               401     unauthorized
├── Forbidden                  403     forbidden
├── NotFound                   404     not_found
├── MethodNotAllowed           405     method_not_allowed
├── InvalidTransition          409     invalid_transition (or the spec's `x-errors.statuses`)
├── IdempotencyKeyReused       400     idempotency_key_reused (or the spec's `x-errors.statuses`)
├── GuardRefused               422     guard_failed (or the guard's own status and code)
├── PayloadTooLarge            413     payload_too_large
├── RequestTimeout             408     request_timeout
├── NotAcceptable              406     not_acceptable
├── UnsupportedMediaType       415     unsupported_media_type
└── InternalError              500     internal_error
"""

from datetime import UTC, datetime
from typing import Any, ClassVar

from kycspec.expressions import Context
from kycspec.model import ErrorFormat
from kycspec.types import JSONObject
from mockserver.reasons import reason

RECORD_NOT_FOUND = "No {resource} with id {id!r}."
LOOKUP_NOT_FOUND = "No {resource} with {field} {value!r}."
TRANSITION_REFUSED = "This {resource} cannot go from {source!r} to {target!r}."
INITIAL_STATE_REFUSED = "No {resource} can be created in state {state!r}; allowed: {allowed}."
TOKEN_MISSING = "No credential: send {how}."
WRONG_SCHEME = "A {sent} credential was sent in Authorization; this API expects {how}."
TOKEN_INVALID = (
    "The credential is not valid; sandbox keys look like '{user_prefix}<name>', sent as {how}."
)
BASIC_HINT = "HTTP Basic with user name {example} and an empty password (curl -u {example}:)"
READ_ONLY_REFUSED = "The {resource} {id} is {state!r}: it takes no changes in that state."
PARENT_STATE_REFUSED = (
    "This {resource} cannot be changed while its {parent} is {state!r}; allowed: {allowed}."
)
IDEMPOTENCY_KEY_REUSED = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with; {key!r} was used with others."
)
ADMIN_ONLY = "This operation needs an admin token ('{admin_prefix}<name>')."
BODY_TOO_LARGE = "The request body is larger than {limit} bytes."
BODY_TIMED_OUT = "No more of the request body came for {seconds} s (serve --read-timeout)."
BODY_CUT_BY_STOP = (
    "The server is stopping and the rest of the request body did not come within {seconds} s."
)
BODY_NOT_UTF8 = "The request body is not valid UTF-8."
BODY_NOT_JSON = "The request body is not valid JSON."
BODY_NOT_MULTIPART = "The request body is not valid multipart/form-data."
UNKNOWN_PAGE_START = "No record with id {id!r} to start the page after."
BAD_TIME_FILTER = "The {param} filter {value!r} is not a date, a date-time or Unix seconds."
BAD_PAGE_NUMBER = "The {what} {value!r} is not a whole number of at least {low}."
BAD_CURSOR = "The cursor {cursor!r} is not valid."
FIXTURE_PARTITION = "Each {resource} record needs a partition naming exactly: {expected}."
STORE_BUSY = "The record kept changing under this request; retry it."
FIXTURE_FIELD = "{resource} record, field {field}: {problem}"
FIXTURE_UNKNOWN_FIELD = "not a field of {resource} (its fields: {known})"
FIXTURE_CALLER_OWNED = (
    "{resource} record, field {field}: {value!r} conflicts with the value the server sets in "
    "sandbox {sandbox!r} ({expected!r}); leave the field out"
)
STORE_UNAVAILABLE = "The mock's store cannot be reached; retry later."
PREFER_FORCED = "Response {code} forced by the Prefer header."
PREFER_UNKNOWN_CODE = "Prefer: code={code} is not a declared response; declared: {declared}."
PREFER_UNKNOWN_EXAMPLE = "Prefer: example={name} is not a named example; known: {known}."
# The request head (mockserver.head) and body decoding (mockserver.bodies).
HEADER_REPEATED = "The {name} header was sent more than once with different values."
MEDIA_TYPE_MALFORMED = (
    "The Content-Type {value} is not a media type (type/subtype; name=value, RFC 9110 §8.3.1)."
)
MEDIA_TYPE_MISSING = (
    "The request has a body but no Content-Type (RFC 9110 §8.3); send the body's media type."
)
CHARSET_UNSUPPORTED = "Request bodies are read as UTF-8; charset={charset} is not supported."
CODING_UNSUPPORTED = "Content-Encoding {coding} is not supported; supported: {known}."
CODING_CORRUPT = "The request body is not valid {coding} data."
JSON_BOM = "The request body starts with a byte order mark; JSON is sent without one."
BODY_NOT_TAKEN = (
    "This operation takes no request body (its OpenAPI operation declares no requestBody); "
    "send none, or an empty one."
)
FORM_FIELD_CONFLICT = (
    "The form field {name} does not fit the fields sent with it (a value and a branch, or an "
    "object and an array, at one place)."
)
FORM_FIELD_TOO_DEEP = "The form field {name} nests deeper than {limit} levels."
FORM_FIELD_UNREADABLE = (
    "The form field {name} cannot be read: a key with ']' in it can only hold text, a number or "
    "a boolean, not an object or an array."
)
FORM_FIELD_UNKNOWN = (
    "The form field {name} is not a field of this body: not one of its properties, nor a member "
    "of an object property sent as its members."
)
JSON_TOO_DEEP = "The JSON body nests arrays and objects deeper than {limit} levels."
JSON_NUMBER_RANGE = (
    "The JSON number {number} is out of range: integers must fit in 64 bits (signed), "
    "other numbers must be finite."
)
JSON_LONE_SURROGATE = (
    "The JSON body has a string with an unpaired surrogate escape (\\uD800-\\uDFFF)."
)
JSON_DUPLICATE_MEMBER = "The JSON body names the member {name} twice in one object."
PARAMETER_REPEATED = "The parameter {name} was sent more than once; it takes a single value."
QUERY_NOT_UTF8 = "The query string is not valid UTF-8 once percent-decoded."
PATH_NOT_UTF8 = "The request path is not valid UTF-8 once percent-decoded."
NOT_ACCEPTABLE = (
    "No media type this operation answers with ({available}) is acceptable to Accept: {accept}."
)
RESPONSE_NOT_CONFORMING = "The mock built a response its spec does not allow: {reason}"
PARAMETER_INVALID = "The parameter {name} is not valid: {reason}"
TIME_INVALID = (
    "{name} is not an RFC 3339 date-time between 0001-01-01T00:00:00Z and "
    "9999-12-31T23:59:59Z: {value}."
)
CLOCK_OUT_OF_RANGE = "The sandbox clock runs from {earliest} to {latest}; {name} leaves that range."
SHOWN_CHARS = 40
DETAIL_CHARS = 300


def shown(value: object) -> str:
    """A request value as a message shows it: quoted and escaped (`repr` escapes control and
    non-printable characters), cut to `SHOWN_CHARS` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def printable(detail: str) -> str:
    """A message as it is sent: every non-printable character escaped, cut to `DETAIL_CHARS`
    characters, since many quote the request (connexion's validation errors, a record id)."""
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in detail)
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


class MockError(Exception):
    """An error response: an HTTP status, a machine kind, and a message for a person."""

    status: ClassVar[int] = 500
    kind: ClassVar[str] = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.headers = headers or {}
        self.status_code = status or self.status  # a guard or `Prefer: code=` may name its own

    def body(self, errors: ErrorFormat) -> JSONObject:
        """The vendor's error envelope for this error."""
        status = self.status_code
        ctx = Context(
            now=datetime.now(UTC),
            values={
                "status": status,
                "code": self.code or errors.code(self.kind),
                "title": reason(status),
                "detail": printable(self.detail),
            },
        )
        return errors.body_of(self.kind)(ctx)  # type: ignore[no-any-return]


class InvalidRequest(MockError):
    status = 400
    kind = "invalid_request"


class Unauthorized(MockError):
    """Always with a `WWW-Authenticate: Bearer` challenge (RFC 9110 section 11.6.1, RFC 6750)."""

    status = 401
    kind = "unauthorized"

    def __init__(self, detail: str, **options: Any):
        super().__init__(detail, **options)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(MockError):
    status = 403
    kind = "forbidden"


class NotFound(MockError):
    status = 404
    kind = "not_found"


class MethodNotAllowed(MockError):
    status = 405
    kind = "method_not_allowed"


class InvalidTransition(MockError):
    status = 409
    kind = "invalid_transition"


class IdempotencyKeyReused(MockError):
    """An idempotency key sent again with another request (Stripe's `idempotency_error`)."""

    status = 400
    kind = "idempotency_key_reused"


class GuardRefused(MockError):
    """A lifecycle guard refused the transition, with the guard's own status and code."""

    status = 422
    kind = "guard_failed"


class PayloadTooLarge(MockError):
    status = 413
    kind = "payload_too_large"


class RequestTimeout(MockError):
    """A request body that stopped coming (`mockserver.readtimeout`); the connection is closed,
    since the rest of the body may still be on its way (RFC 9110 section 15.5.9)."""

    status = 408
    kind = "request_timeout"

    def __init__(self, detail: str, **options: Any):
        super().__init__(detail, **options)
        self.headers.setdefault("Connection", "close")


class NotAcceptable(MockError):
    status = 406
    kind = "not_acceptable"


class UnsupportedMediaType(MockError):
    status = 415
    kind = "unsupported_media_type"


class InternalError(MockError):
    status = 500
    kind = "internal_error"


def error_for(status: int, detail: str, headers: dict[str, str] | None = None) -> MockError:
    """The error to answer with for an HTTP status; one without a class of its own (a forced
    `Prefer: code=422`, say) takes the kind of its family."""
    known = STATUS_ERRORS.get(status)
    if known is not None:
        return known(detail, headers=headers)
    if status >= 500:
        family: type[MockError] = InternalError
    else:
        family = GuardRefused if status == 422 else InvalidRequest
    return family(detail, headers=headers, status=status)


STATUS_ERRORS: dict[int, type[MockError]] = {
    cls.status: cls
    for cls in (
        InvalidRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        InvalidTransition,
        PayloadTooLarge,
        RequestTimeout,
        NotAcceptable,
        UnsupportedMediaType,
        InternalError,
    )
}
