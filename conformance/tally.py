"""Per-requirement bookkeeping inside a layer: cases run, failures seen, the final verdict.

A layer checks many operations against one requirement; the report wants one verdict per
requirement with the *first* failing request sequence as evidence (the others are counted), so
the report stays short and the evidence replayable.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.requirements import Requirement
from conformance.results import Exchange, Result, Verdict

MAX_LISTED_FAILURES = 5


@dataclass
class Tally:
    """Everything one layer learned about one requirement."""

    requirement: Requirement
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    evidence: tuple[Exchange, ...] = ()
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def ran(self, count: int = 1) -> None:
        self.cases += count

    def fail(self, message: str, exchanges: Iterable[Exchange]) -> None:
        """Record a failure; the first one keeps its exchanges as the evidence."""
        if not self.failures:
            self.evidence = tuple(exchange.as_evidence() for exchange in exchanges)
        if message not in self.failures:
            self.failures.append(message)

    def skip(self, reason: str) -> None:
        self.skip_reason = self.skip_reason or reason

    def result(self, seed: int | None) -> Result:
        if self.failures:
            shown = self.failures[:MAX_LISTED_FAILURES]
            more = len(self.failures) - len(shown)
            message = "\n".join(shown) + (f"\n(and {more} more)" if more > 0 else "")
            return Result(
                self.requirement, Verdict.FAILED, message, self.evidence, seed, self.cases
            )
        if self.cases == 0:
            reason = self.skip_reason or "no case exercised this requirement"
            return Result(self.requirement, Verdict.SKIPPED, reason, (), seed, 0)
        message = "; ".join(self.notes)
        return Result(self.requirement, Verdict.PASSED, message, (), seed, self.cases)


def tallies_for(catalogue: Iterable[Requirement], layer: str) -> dict[str, Tally]:
    """A fresh tally per requirement of the layer, keyed by check name."""
    return {r.check: Tally(r) for r in catalogue if r.layer == layer}


def results_of(tallies: dict[str, Tally], seed: int | None) -> list[Result]:
    return [tally.result(seed) for tally in tallies.values()]
