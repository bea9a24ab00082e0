"""Per-requirement bookkeeping inside a layer: what exercised it, failures seen, the verdict.

A layer checks many operations against one requirement; the report wants one verdict per
requirement with the *first* failing request sequence as evidence (the others are counted), so
the report stays short and the evidence replayable.

The verdict follows the requirement's check (`conformance.checks`): FAILED on any failure;
SKIPPED when its discriminating case never happened ("not exercised") or, for a requirement
about every operation (resource, ...), when some unit it must cover was never covered ("partly
exercised", with the coverage); PASSED otherwise, with the coverage in the message.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.checks import CHECKS, Check, registered
from conformance.requirements import Requirement
from conformance.results import Exchange, Result, Verdict

MAX_LISTED_FAILURES = 5
MAX_LISTED_UNITS = 5
NOT_EXERCISED = "not exercised: no {case} happened"
PARTLY = "partly exercised ({done} of {total} {unit}s; passed there); not covered: {missing}"
COVERED = "covered {done} of {total} {unit}s"
PARTLY_FIELDS = "partly exercised (passed where checked); not checked: {what}"
ONLY_FORM = "only the form of {what} (no value the model knew exactly)"
WAIVED = "{unit} {name} not applicable: {reason}"


@dataclass
class Tally:
    """Everything one layer learned about one requirement."""

    requirement: Requirement
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    evidence: tuple[Exchange, ...] = ()
    skip_reason: str | None = None
    fix: str | None = None  # the option that would let the run exercise it
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected: dict[str, None] = field(default_factory=dict)  # units to cover, in order
    covered: set[str] = field(default_factory=set)
    unchecked: dict[str, None] = field(default_factory=dict)  # parts no case could check
    exact: bool = False  # some comparison with a value known exactly happened
    loose: dict[str, None] = field(default_factory=dict)  # values compared by form only

    @property
    def check(self) -> Check:
        return CHECKS.get(self.requirement.check)

    def expect(self, unit: str) -> None:
        """A unit (operation, resource, ...) the requirement must be exercised on."""
        self.expected[unit] = None

    def waive(self, unit: str, reason: str) -> None:
        """A unit the requirement cannot apply to (no invalid input exists for it, say)."""
        if unit in self.expected:
            del self.expected[unit]
            self.notes.append(WAIVED.format(unit=self.check.every, name=unit, reason=reason))

    def ran(self, count: int = 1, unit: str | None = None) -> None:
        """The discriminating case happened (on `unit`, for a requirement about every unit)."""
        self.cases += count
        if unit is not None:
            self.covered.add(unit)

    def unchecked_part(self, what: str) -> None:
        """A part of the requirement no case could check (a value the run never learnt):
        the requirement is SKIPPED "partly exercised", never PASSED, unless it failed."""
        self.unchecked[what] = None

    def compared(self, exact: bool, parts: Iterable[str]) -> None:
        """A case compared values with the reference model: `exact` when some value was known
        exactly, `parts` the values known only by their form (or not at all). A requirement
        whose every comparison was of the second kind is "partly exercised", never PASSED."""
        self.exact = self.exact or exact
        self.loose.update(dict.fromkeys(parts))

    def fail(self, message: str, exchanges: Iterable[Exchange]) -> None:
        """Record a failure; the first one keeps its exchanges as the evidence."""
        if not self.failures:
            self.evidence = tuple(exchange.as_evidence() for exchange in exchanges)
        if message not in self.failures:
            self.failures.append(message)

    def error(self, message: str) -> None:
        """The check itself could not run (a generation error): ERROR, unless it failed."""
        if message not in self.errors:
            self.errors.append(message)

    def skip(self, reason: str, fix: str | None = None) -> None:
        """Why the requirement may end up not (fully) exercised, and the option that helps."""
        self.skip_reason = self.skip_reason or reason
        self.fix = self.fix or fix

    def result(self, seed: int | None) -> Result:
        requirement = self.requirement
        if self.failures:
            shown = self.failures[:MAX_LISTED_FAILURES]
            more = len(self.failures) - len(shown)
            message = "\n".join(shown) + (f"\n(and {more} more)" if more > 0 else "")
            return Result(requirement, Verdict.FAILED, message, self.evidence, seed, self.cases)
        if self.errors:
            return Result(requirement, Verdict.ERROR, "\n".join(self.errors), (), seed, self.cases)
        if self.cases == 0:
            reason = self.skip_reason or NOT_EXERCISED.format(case=self.check.exercised_by)
            return Result(requirement, Verdict.SKIPPED, reason, (), seed, 0, fix=self.fix)
        missing = [unit for unit in self.expected if unit not in self.covered]
        if missing:
            message = PARTLY.format(
                done=len(self.expected) - len(missing),
                total=len(self.expected),
                unit=self.check.every,
                missing=_listed(missing),
            )
            if self.skip_reason:
                message += f" ({self.skip_reason})"
            return Result(requirement, Verdict.SKIPPED, message, (), seed, self.cases, fix=self.fix)
        unchecked = list(self.unchecked)
        if self.loose and not self.exact:
            unchecked.append(ONLY_FORM.format(what=_listed(list(self.loose))))
        if unchecked:
            message = PARTLY_FIELDS.format(what="; ".join(unchecked))
            return Result(requirement, Verdict.SKIPPED, message, (), seed, self.cases, fix=self.fix)
        notes = list(self.notes)
        if self.expected:
            total = len(self.expected)
            notes.insert(0, COVERED.format(done=total, total=total, unit=self.check.every))
        return Result(requirement, Verdict.PASSED, "; ".join(notes), (), seed, self.cases)


def _listed(units: list[str]) -> str:
    shown = ", ".join(units[:MAX_LISTED_UNITS])
    more = len(units) - MAX_LISTED_UNITS
    return shown + (f" and {more} more" if more > 0 else "")


def tallies_for(catalogue: Iterable[Requirement], layer: str) -> dict[str, Tally]:
    """A fresh tally per requirement of the layer, keyed by check name."""
    return {r.check: Tally(r) for r in catalogue if r.layer == layer}


def tally_of(tallies: dict[str, Tally], name: str) -> Tally | None:
    """The tally of a registered check (None when it does not apply here); an unregistered
    name is an error, never a dropped verdict."""
    registered(name)
    return tallies.get(name)


def results_of(tallies: dict[str, Tally], seed: int | None) -> list[Result]:
    return [tally.result(seed) for tally in tallies.values()]
