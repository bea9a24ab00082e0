"""The mock clock: real time plus an offset, per sandbox, so tests can move time forward."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


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
