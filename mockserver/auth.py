"""Credentials to callers: connexion's security handlers, resolving every scheme to a sandbox.

connexion reads each operation's `security` and finds the credential (the `Authorization`
header, an API key header, query parameter or cookie); these handlers turn the key it carries
into a `Caller` with the API's `TokenPolicy`, so an API key opens a sandbox exactly as a bearer
token does. A public operation (`security: []`) is called by `mockserver.sandbox.OPEN_CALLER`.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connexion.security import (
    ApiKeySecurityHandler,
    BasicSecurityHandler,
    BearerSecurityHandler,
)

from kycspec.credentials import Credential, compile_credential
from kycspec.model import ApiSpec
from mockserver import errors
from mockserver.sandbox import TokenPolicy

TokenInfo = dict[str, Any] | None


def _info(policy: TokenPolicy, key: str | None) -> TokenInfo:
    caller = policy.resolve(key) if key else None
    return None if caller is None else {"sub": caller.sandbox, "caller": caller}


def security_map(policy: TokenPolicy) -> dict[str, type]:
    """connexion security handlers (by scheme kind) that resolve keys with `policy`."""

    class _Sandboxed:
        @staticmethod
        def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
            # The functions below take the credential only; connexion would otherwise inspect
            # their signatures on every request.
            return False

    class SandboxBearerHandler(_Sandboxed, BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return lambda token: _info(policy, token)

    class SandboxBasicHandler(_Sandboxed, BasicSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            # RFC 7617 user-id and password; the key is the user name (Stripe) or, when that
            # is empty, the password.
            return lambda username, password: _info(policy, username or password)

    class SandboxApiKeyHandler(_Sandboxed, ApiKeySecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            credential = compile_credential("", security_scheme)
            return lambda value, required_scopes=None: _info(policy, credential.extract(value))

    return {
        "bearer": SandboxBearerHandler,
        "basic": SandboxBasicHandler,
        "apiKey": SandboxApiKeyHandler,
    }


def how_to_send(credentials: Sequence[Credential], example: str) -> str:
    """The ways to present `example`, for a 401's message: `'X-Api-Key: test_<name>'`."""
    if not credentials:
        return f"'Authorization: Bearer {example}'"
    return " or ".join(f"'{c.describe(example)}'" for c in credentials)


def how_to_authenticate(credentials: Sequence[Credential], example: str) -> str:
    """`how_to_send` for a 401's message, with HTTP Basic said in words (`errors.BASIC_HINT`):
    the base64 of `user:password` (RFC 7617) of a template is unreadable."""
    hints = [
        errors.BASIC_HINT.format(example=example)
        if credential.kind == "basic"
        else how_to_send([credential], example)
        for credential in credentials
    ]
    return " or ".join(dict.fromkeys(hints)) or how_to_send((), example)


def key_hints(specs: Mapping[str, ApiSpec], example: str) -> dict[str, list[str]]:
    """How to send `example` to each stateful API (its declared credential schemes), with the
    APIs that take it that way: `{"'X-Api-Key: test_<name>'": ["acme"]}`."""
    hints: dict[str, list[str]] = {}
    for name, spec in specs.items():
        if spec.stateful:
            how = how_to_send(tuple(spec.credentials.values()), example)
            hints.setdefault(how, []).append(name)
    return hints


def challenge(credentials: Sequence[Credential]) -> str:
    """The `WWW-Authenticate` value of a 401 (RFC 9110 11.6.1): one challenge per scheme."""
    found = []
    for credential in credentials or ():
        if credential.kind == "bearer":
            found.append("Bearer")
        elif credential.kind == "basic":
            found.append('Basic realm="sandbox"')
        else:
            found.append(f'ApiKey in="{credential.location}", name="{credential.field}"')
    return ", ".join(dict.fromkeys(found)) or "Bearer"


def unauthorized_message(
    policy: TokenPolicy, refused: bool, authorization: str | None = None
) -> str:
    """The 401 message: no credential at all, one in a scheme the API does not take (the
    `Authorization` header's first word, RFC 9110 11.4), or one the policy refused."""
    how = how_to_authenticate(policy.credentials, f"{policy.user_prefix}<name>")
    if refused:
        return errors.TOKEN_INVALID.format(user_prefix=policy.user_prefix, how=how)
    sent = (authorization or "").split(maxsplit=1)
    if sent and not any(_takes(credential, sent[0]) for credential in policy.credentials):
        return errors.WRONG_SCHEME.format(sent=sent[0], how=how)
    return errors.TOKEN_MISSING.format(how=how)


def _takes(credential: Credential, scheme: str) -> bool:
    """Whether the credential is read from `Authorization` text starting with `scheme`."""
    if credential.location != "header" or credential.field.lower() != "authorization":
        return False
    words = credential.prefix.split(maxsplit=1)
    return not words or words[0].lower() == scheme.lower()
