"""What an error answer of one kind must be: the status and envelope the spec's `x-errors`
declares (specs/README.md, `x-errors`).

The envelope is the kind's body template (`bodies`, else `body`) with `$status` and `$code`
(the kind's code) known and `$title` and `$detail` (the server's wording) not compared; it is
judged like a record by the lifecycle model (`mismatches`): every known value must be equal.
"""

from datetime import UTC, datetime
from typing import Any

from conformance.layers.lifecycle_model import UNKNOWN, mismatches
from kycspec.expressions import Context
from kycspec.model import ErrorFormat

WRONG_STATUS = "answered {status}; x-errors declares {expected} for {kind}"
WRONG_ENVELOPE = "the {kind} error body is not the declared envelope: {problems}"


def expected_envelope(errors: ErrorFormat, kind: str, status: int, code: str | None = None) -> Any:
    """The error body of `kind` as far as the spec fixes it (UNKNOWN for the wording); `code`
    is the error's own code (a guard's), else the kind's."""
    code = code or errors.code(kind)
    values = {"status": status, "code": code, "title": UNKNOWN, "detail": UNKNOWN}
    return errors.body_of(kind)(Context(now=datetime.now(UTC), values=values))


def error_problem(
    errors: ErrorFormat,
    kind: str,
    status: int | None,
    body: Any,
    expected: int,
    code: str | None = None,
) -> str:
    """Why an answer is not the declared error of `kind` with status `expected` (and `code`,
    when it has its own) (empty when it is): another status (None: no answer), or a body that
    is not the kind's envelope."""
    if status != expected:
        return WRONG_STATUS.format(status=status, expected=expected, kind=kind)
    problems = mismatches(expected_envelope(errors, kind, status, code), body)
    if problems:
        return WRONG_ENVELOPE.format(kind=kind, problems="; ".join(problems[:3]))
    return ""
