"""Bearer tokens to sandboxes: each API key is its own isolated world, like test API keys."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from kycspec.credentials import Credential
from kycspec.model import TokenAlias

_NAMESPACE = uuid.UUID("6b1f0c5e-8d0a-4f4e-9a57-3f1d2c7b9e10")
SANDBOX_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CALLERS_REMEMBERED = 1024


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token, its sandbox, and whether it may use admin operations."""

    token: str
    sandbox: str
    admin: bool

    @property
    def actor(self) -> str:
        """A stable UUID for the API key (Kontorion's `actor_id`)."""
        return str(uuid.uuid5(_NAMESPACE, "token:" + self.token))

    @property
    def organization(self) -> str:
        """A stable UUID for the sandbox (Kontorion's `organization_id`)."""
        return str(uuid.uuid5(_NAMESPACE, "sandbox:" + self.sandbox))


# The caller of an operation the document declares no security for: one shared sandbox.
OPEN_CALLER = Caller(token="", sandbox="open", admin=False)


@dataclass(frozen=True)
class TokenPolicy:
    """Which keys (bearer tokens, API keys, basic user names) open which sandbox.

    By default `test_<name>` opens sandbox `<name>` and `admin_<name>` opens the same sandbox
    with admin rights; `aliases` adds fixed tokens (the placeholders of the vendors' docs).
    A policy does not change once made (a server makes a new one for new rules), so the caller
    of each token is worked out once and remembered (`_CALLERS_REMEMBERED` tokens at most).
    """

    user_prefix: str = "test_"
    admin_prefix: str = "admin_"
    aliases: Mapping[str, TokenAlias] = field(default_factory=dict)
    credentials: tuple[Credential, ...] = ()  # how the API takes keys (for 401 messages)
    _callers: dict[str, Caller | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def resolve(self, token: str) -> Caller | None:
        """The caller a token opens, or None for a token the policy refuses."""
        callers = self._callers
        if token in callers:
            return callers[token]
        if len(callers) >= _CALLERS_REMEMBERED:
            callers.clear()
        callers[token] = caller = self._caller(token)
        return caller

    def _caller(self, token: str) -> Caller | None:
        alias = self.aliases.get(token)
        if alias is not None:
            return Caller(token, alias.sandbox, alias.admin)
        for prefix, admin in ((self.admin_prefix, True), (self.user_prefix, False)):
            if token.startswith(prefix):
                name = token[len(prefix) :]
                if SANDBOX_NAME.match(name):
                    return Caller(token, name, admin)
        return None
