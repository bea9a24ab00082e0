"""What the suite checks: one API implementation at a base URL, and how to talk to it."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from conformance.limits import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WEBHOOK_WAIT_S,
)
from conformance.watch import ServerWatch, operation_key
from kycspec.credentials import Credential
from kycspec.model import ApiSpec, Operation

# How reports name each credential of a target (in curl lines and the replay command): by its
# role, never by its value, so a report can be shared without leaking the vendor's keys.
PLACEHOLDERS = {
    "token": "<token>",
    "token_b": "<token-b>",
    "admin_token": "<admin-token>",
    "control_token": "<control-token>",
    "webhook_secret": "<webhook-secret>",
}
OTHER_CREDENTIAL = "<other-token>"


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header that presents `token` (no header for no token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def credential_of(op: Operation) -> Credential | None:
    """The credential the suite presents for `op`: the first alternative its spec declares."""
    return op.credentials[0] if op.credentials else None


def credential_headers(op: Operation, token: str | None) -> dict[str, str]:
    """The header that presents `token` as `op` declares (a cookie goes in `Cookie`)."""
    credential = credential_of(op)
    if not token or credential is None:
        return bearer(token) if not op.public else {}
    value = credential.present(token)
    if credential.location == "header":
        return {credential.field: value}
    if credential.location == "cookie":
        return {"Cookie": f"{credential.field}={value}"}
    return {}


def credential_params(op: Operation, token: str | None) -> dict[str, str]:
    """The query parameter that presents `token`, for an API key declared `in: query`."""
    credential = credential_of(op)
    if not token or credential is None or credential.location != "query":
        return {}
    return {credential.field: credential.present(token)}


@dataclass(frozen=True)
class Target:
    """An implementation under test.

    - `token` is the main API key; `token_b` a second key of another account (isolation checks);
      `admin_token` a key allowed to call admin operations (same account as `token`).
    - `control_url` is the kyc-contracts mock control plane (`http://host:port/__mock`), when the
      target is our mock: it enables clock-driven checks and per-scenario resets. A vendor's
      server has none, and those checks are skipped with a reason. `control_token` is its
      bearer token, when the mock runs with `--control-token`.
    - `magic` says the server honours the spec's `x-sandbox.magic` values (our mock does).
    - `timeout` (seconds) and `max_response_bytes` bound every request and its answer
      (`conformance.limits`); `watch` is what the run has learnt about the server so far
      (hanging operations, a stopped server; `conformance.watch`), shared by every client.
    - `webhook_receiver` (`HOST:PORT`) is where the suite's webhook receiver listens (a free
      127.0.0.1 port when None); `webhook_secret` the signing secret to verify deliveries with
      (the control plane gives the mock's); `webhook_wait_s` how long to wait for a delivery.
    - `sandbox` names the control plane's sandbox behind `token`; None until the preflight
      finds it by token introspection (`conformance.preflight`). Never parsed from the token.
    """

    spec: ApiSpec
    base_url: str
    token: str
    token_b: str | None = None
    admin_token: str | None = None
    control_url: str | None = None
    magic: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    tenant: str = "conformance"
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    control_token: str | None = None
    watch: ServerWatch = field(default_factory=ServerWatch, compare=False, repr=False)
    sandbox: str | None = None
    webhook_receiver: str | None = None
    webhook_secret: str | None = None
    webhook_wait_s: float = DEFAULT_WEBHOOK_WAIT_S

    @property
    def api(self) -> str:
        return self.spec.name

    def url(self, path: str) -> str:
        """The URL of a spec path (relative to the spec's server URL, as OpenAPI says)."""
        return self.base_url.rstrip("/") + path

    def operation(self, method: str, url: str) -> str:
        """The spec operation a request is for, as `METHOD /path/{param}` (see `watch`)."""
        return operation_key(self.spec, self.base_url, method, url)

    def masks(self) -> tuple[tuple[str, str], ...]:
        """(text, placeholder) pairs: every form in which a key of the target can be sent.

        Evidence shows the placeholder wherever the text appears (an API key header, a query
        parameter, a cookie, a Basic credential), longest text first.
        """
        found: dict[str, str] = {}
        for name, placeholder in PLACEHOLDERS.items():
            key = getattr(self, name)
            if not key:
                continue
            for credential in self.spec.credentials.values():
                found.setdefault(
                    credential.present(key).removeprefix(credential.prefix), placeholder
                )
            found.setdefault(key, placeholder)
        return tuple(sorted(found.items(), key=lambda item: -len(item[0])))

    def placeholder(self, headers: Mapping[str, str]) -> str:
        """The name reports show for the credential in `headers`, in place of its value."""
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip()
        token = value.partition(" ")[2].strip() or value
        for credential in self.spec.credentials.values():
            if credential.location == "header" and credential.field.lower() == "authorization":
                token = credential.extract(value) or token
        for name, placeholder in PLACEHOLDERS.items():
            if token and token == getattr(self, name):
                return placeholder
        return OTHER_CREDENTIAL
