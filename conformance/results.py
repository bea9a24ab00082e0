"""Verdicts, and the evidence that comes with them: every exchange, replayable as curl."""

import enum
import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.requirements import Requirement
from conformance.target import OTHER_CREDENTIAL

EVIDENCE_BYTES = 64 * 1024  # of each body an exchange kept as evidence
# A key is masked where it stands whole, not where its text is part of a longer word: a short
# key like `k` must not turn `api_key` into `api_<token>ey` and corrupt the evidence.
_WORD_CHAR = "A-Za-z0-9_"


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A `re.sub` replacement that inserts `text` as it is (no backslash escapes)."""
    return lambda _match: text


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the check could not run (server unreachable, timeout, bad setup)


@dataclass(frozen=True)
class Exchange:
    """One request and its response (or the transport error instead of one).

    Rendered (`as_curl`, `to_json`), the Authorization header shows `credential`, the name of
    the key that was sent (`<token>`, `<token-b>`, ...), never the key itself; every other
    place a key can travel (an API key header, the query, a cookie, the body) shows the
    placeholder `masks` gives for its text.
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
    cut_status: int | None = None  # `LIMIT`: the status line of the answer that was cut off
    masks: tuple[tuple[str, str], ...] = ()

    def masked(self, text: str) -> str:
        """The text with every known key, where it stands whole, replaced by its placeholder."""
        for secret, placeholder in self.masks:
            whole = rf"(?<![{_WORD_CHAR}]){re.escape(secret)}(?![{_WORD_CHAR}])"
            text = re.sub(whole, _literal(placeholder), text)
        return text

    def as_curl(self) -> str:
        parts = ["curl", "-X", self.method, shlex.quote(self.masked(self.url))]
        for name, value in self.request_headers.items():
            if name.lower() in ("content-length", "host", "accept-encoding", "connection"):
                continue
            parts += ["-H", shlex.quote(f"{name}: {self._shown(name, value)}")]
        if self.request_body:
            text = self.request_body.decode("utf-8", errors="replace")
            parts += ["--data-binary", shlex.quote(self.masked(text))]
        return " ".join(parts)

    def _shown(self, name: str, value: str) -> str:
        if name.lower() != "authorization":
            return self.masked(value)
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
            "url": self.masked(self.url),
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
    cases: int = 0  # how many discriminating cases exercised it
    duration_s: float = 0.0  # its share of its layer's time (see `conformance.runner`)
    fix: str | None = None  # for a SKIPPED result: the option that would let a run check it

    def to_json(self) -> dict[str, Any]:
        return {
            **self.requirement.to_json(),
            "verdict": self.verdict.value,
            "message": self.message,
            "fix": self.fix,
            "seed": self.seed,
            "cases": self.cases,
            "duration_s": round(self.duration_s, 3),
            "exchanges": [exchange.to_json() for exchange in self.exchanges],
        }


class RunVerdict(enum.StrEnum):
    """What a finished run says about the implementation (exit codes 0, 1 and 2)."""

    CONFORMANT = "conformant"
    NOT_CONFORMANT = "not conformant"
    NOTHING_EXERCISED = "nothing exercised"  # no MUST requirement passed: no verdict to give


def is_blocking(result: Result, *, require_all: bool = False) -> bool:
    """A MUST requirement that failed or errored (or, with `require_all`, was skipped)."""
    if result.requirement.level != "MUST":
        return False
    blocking = (Verdict.FAILED, Verdict.ERROR, Verdict.SKIPPED) if require_all else BLOCKING
    return result.verdict in blocking


BLOCKING = (Verdict.FAILED, Verdict.ERROR)


def run_verdict(results: Iterable[Result], *, require_all: bool = False) -> RunVerdict:
    """Not conformant if a MUST failed or errored (or was skipped, with `require_all`);
    nothing exercised if no MUST passed; conformant otherwise."""
    results = list(results)
    if any(is_blocking(r, require_all=require_all) for r in results):
        return RunVerdict.NOT_CONFORMANT
    if not any(r.requirement.level == "MUST" and r.verdict is Verdict.PASSED for r in results):
        return RunVerdict.NOTHING_EXERCISED
    return RunVerdict.CONFORMANT


def fixable(results: Iterable[Result]) -> list[Result]:
    """Skipped MUST requirements that a run with another option would check."""
    return [
        r
        for r in results
        if r.requirement.level == "MUST" and r.verdict is Verdict.SKIPPED and r.fix is not None
    ]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
