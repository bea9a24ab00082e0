"""Verdicts, and the evidence that comes with them: every exchange, replayable as curl."""

import enum
import json
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.requirements import Requirement
from conformance.target import OTHER_CREDENTIAL

EVIDENCE_BYTES = 64 * 1024  # of each body an exchange kept as evidence


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the check could not run (server unreachable, timeout, bad setup)


@dataclass(frozen=True)
class Exchange:
    """One request and its response (or the transport error instead of one).

    Rendered (`as_curl`, `to_json`), the Authorization header shows `credential`, the name of
    the key that was sent (`<token>`, `<token-b>`, ...), never the key itself.
    """

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    credential: str = OTHER_CREDENTIAL
    outage: str | None = None  # `watch.HANGING`, `DOWN` or `LIMIT`: why there is no answer

    def as_curl(self) -> str:
        parts = ["curl", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in ("content-length", "host", "accept-encoding", "connection"):
                continue
            parts += ["-H", shlex.quote(f"{name}: {self._shown(name, value)}")]
        if self.request_body:
            text = self.request_body.decode("utf-8", errors="replace")
            parts += ["--data-binary", shlex.quote(text)]
        return " ".join(parts)

    def _shown(self, name: str, value: str) -> str:
        if name.lower() != "authorization":
            return value
        stripped = value.strip()  # whitespace around the value is kept as it was sent
        scheme, _, secret = stripped.partition(" ")
        return value.replace(stripped, f"{scheme} {self.credential}" if secret else self.credential)

    def response_text(self, limit: int = 2000) -> str:
        body = (self.response_body or b"").decode("utf-8", errors="replace")
        if self.error:  # an answer cut off at a limit keeps its first bytes as evidence
            cut = f" {body[:limit]}..." if body else ""
            return f"<no response: {self.error}>{cut}"
        return f"{self.status} {body[:limit]}"

    def as_evidence(self) -> "Exchange":
        """The exchange as a verdict keeps it: bodies cut to `EVIDENCE_BYTES` (reports show
        less), so a run's memory does not grow with the bodies a server sends."""
        request, response = self.request_body, self.response_body
        if (request is None or len(request) <= EVIDENCE_BYTES) and (
            response is None or len(response) <= EVIDENCE_BYTES
        ):
            return self
        return replace(
            self,
            request_body=request[:EVIDENCE_BYTES] if request is not None else None,
            response_body=response[:EVIDENCE_BYTES] if response is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "curl": self.as_curl(),
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "response": self.response_text(),
        }


@dataclass(frozen=True)
class Result:
    """The verdict on one requirement, with the request sequence that shows it."""

    requirement: Requirement
    verdict: Verdict
    message: str = ""
    exchanges: tuple[Exchange, ...] = ()
    seed: int | None = None
    cases: int = 0  # how many generated cases or scenarios exercised it
    duration_s: float = 0.0  # its share of its layer's time (see `conformance.runner`)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.requirement.to_json(),
            "verdict": self.verdict.value,
            "message": self.message,
            "seed": self.seed,
            "cases": self.cases,
            "duration_s": round(self.duration_s, 3),
            "exchanges": [exchange.to_json() for exchange in self.exchanges],
        }


def is_blocking(result: Result) -> bool:
    """A MUST requirement that failed or errored: the implementation does not conform."""
    return result.requirement.level == "MUST" and result.verdict in (Verdict.FAILED, Verdict.ERROR)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
