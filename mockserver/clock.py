"""The mock clock: real time plus an offset, per sandbox, so tests can move time forward."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# The instants a sandbox clock may show: from the Unix epoch (Unix-time resources store no
# negative seconds) to a year that leaves the spec's `$now+<n>d` expressions room to add.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def in_range(moment: datetime) -> bool:
    """Whether a sandbox clock may show `moment` (`EARLIEST` <= moment < `LATEST`)."""
    return EARLIEST <= moment < LATEST


@dataclass
class MockClock:
    """Real time shifted by `offset`, or frozen at `frozen_at`."""

    offset: timedelta = timedelta()
    frozen_at: datetime | None = None

    def now(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime, *, freeze: bool = False) -> None:
        """Make `now()` return `moment` (and stay there when frozen)."""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if freeze:
            self.frozen_at = moment
        else:
            self.frozen_at = None
            self.offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        if self.frozen_at is not None:
            self.frozen_at += delta
        else:
            self.offset += delta

    def reset(self) -> None:
        self.offset = timedelta()
        self.frozen_at = None
