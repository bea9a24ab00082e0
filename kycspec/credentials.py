"""Credential schemes: how an API takes its key, compiled from OpenAPI `securitySchemes`.

One registered `CredentialScheme` per kind a KYC vendor uses (`CREDENTIAL_SCHEMES`):

- `bearer`: `type: http, scheme: bearer`, `Authorization: Bearer <key>` (RFC 6750; Persona).
- `basic`: `type: http, scheme: basic`, `Authorization: Basic base64(<key>:)` (RFC 7617; the key
  is the user name and the password is empty, as Stripe takes its secret key).
- `apiKey`: `type: apiKey` in `header`, `query` or `cookie` (OpenAPI 3.0.3 4.7.33), with an
  optional `x-prefix` written before the key (Onfido's `Authorization: Token token=<key>`).

The mock reads a key out of a request with `extract`; the conformance suite writes one into a
request with `present`. Both use the same compiled `Credential`, so they cannot disagree.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Protocol

from kycspec.registry import Registry

LOCATIONS = ("header", "query", "cookie")


class CredentialScheme(Protocol):
    """One kind of credential. An implementer must:

    - set `kind`, the name it is registered under (what `Credential.kind` says);
    - `compile(name, raw)`: the `Credential` a security scheme object declares; raise
      `ValueError` naming the offending key for anything it does not understand;
    - `present(credential, key)`: the text of the field that carries `key`;
    - `extract(credential, value)`: the key in a field's text, or None when it carries none.
    """

    kind: str

    def compile(self, name: str, raw: dict[str, Any]) -> "Credential": ...

    def present(self, credential: "Credential", key: str) -> str: ...

    def extract(self, credential: "Credential", value: str) -> str | None: ...


@dataclass(frozen=True)
class Credential:
    """Where and how one security scheme carries the caller's key."""

    name: str  # the key in components.securitySchemes
    kind: str  # a name in CREDENTIAL_SCHEMES
    location: str  # header, query or cookie
    field: str  # the header, query parameter or cookie name
    prefix: str = ""  # text before the key in the field

    @property
    def scheme(self) -> CredentialScheme:
        return CREDENTIAL_SCHEMES.get(self.kind)

    def present(self, key: str) -> str:
        return self.scheme.present(self, key)

    def extract(self, value: str) -> str | None:
        return self.scheme.extract(self, value)

    def describe(self, example: str) -> str:
        """How to send `example` as this credential, for error messages (`X-Api-Key: test_x`)."""
        shown = f"{self.field}: {self.present(example)}"
        if self.kind == "basic":  # the user name `example`, an empty password (RFC 7617)
            shown = f"{self.field}: {self.prefix}base64({example}:)"
        elif self.location == "query":
            shown = f"?{self.field}={self.present(example)}"
        elif self.location == "cookie":
            shown = f"Cookie: {self.field}={self.present(example)}"
        return shown


def _strip(prefix: str, value: str) -> str | None:
    if not value.lower().startswith(prefix.lower()):
        return None
    return value[len(prefix) :].strip() or None


class BearerScheme:
    kind = "bearer"

    def compile(self, name: str, raw: dict[str, Any]) -> Credential:
        return Credential(name, self.kind, "header", "Authorization", "Bearer ")

    def present(self, credential: Credential, key: str) -> str:
        return credential.prefix + key

    def extract(self, credential: Credential, value: str) -> str | None:
        return _strip(credential.prefix, value)


class BasicScheme:
    kind = "basic"

    def compile(self, name: str, raw: dict[str, Any]) -> Credential:
        return Credential(name, self.kind, "header", "Authorization", "Basic ")

    def present(self, credential: Credential, key: str) -> str:
        return credential.prefix + base64.b64encode(f"{key}:".encode()).decode()

    def extract(self, credential: Credential, value: str) -> str | None:
        encoded = _strip(credential.prefix, value)
        if encoded is None:
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or password or None


class ApiKeyScheme:
    kind = "apiKey"

    def compile(self, name: str, raw: dict[str, Any]) -> Credential:
        location = raw.get("in")
        if location not in LOCATIONS:
            raise ValueError(f"'in' is {location!r}; allowed: {', '.join(LOCATIONS)}")
        prefix = str(raw.get("x-prefix", ""))  # a string: kycspec.vocabulary
        return Credential(name, self.kind, location, str(raw.get("name", "")), prefix)

    def present(self, credential: Credential, key: str) -> str:
        return credential.prefix + key

    def extract(self, credential: Credential, value: str) -> str | None:
        if not credential.prefix:
            return value.strip() or None
        return _strip(credential.prefix, value)


CREDENTIAL_SCHEMES: Registry[CredentialScheme] = Registry("credential scheme")
for _scheme in (BearerScheme(), BasicScheme(), ApiKeyScheme()):
    CREDENTIAL_SCHEMES.register(_scheme.kind, _scheme)


def scheme_kind(raw: dict[str, Any]) -> str:
    """The registered kind a security scheme object names (`http` + `scheme`, or `type`)."""
    kind = str(raw.get("type", ""))
    if kind == "http":
        return str(raw.get("scheme", "")).lower()
    return kind


def compile_credential(name: str, raw: dict[str, Any]) -> Credential:
    """The credential a security scheme declares; ValueError says what is allowed instead."""
    kind = scheme_kind(raw)
    if kind not in CREDENTIAL_SCHEMES.names():
        allowed = ", ".join(CREDENTIAL_SCHEMES.names())
        raise ValueError(f"scheme kind {kind!r} is not supported; allowed: {allowed}")
    return CREDENTIAL_SCHEMES.get(kind).compile(name, raw)
