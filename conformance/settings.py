"""Run settings: the profile decides which layers run and how hard they try."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.events import Event
from conformance.requirements import Requirement
from conformance.results import Result
from conformance.target import Target


@dataclass(frozen=True)
class Profile:
    """Which layers run, and how many generated cases each gets."""

    name: str
    layers: tuple[str, ...]
    schema_examples: int  # schemathesis examples per operation and phase
    lifecycle_scenarios: int  # state-machine runs per resource
    lifecycle_steps: int  # steps per state-machine run


EVERY_LAYER = ("schema", "lifecycle", "security", "robustness", "webhooks")
PROFILES = {
    "core": Profile("core", EVERY_LAYER, 8, 20, 15),
    "lifecycle": Profile("lifecycle", ("lifecycle",), 0, 40, 30),
    "security": Profile("security", ("security",), 0, 0, 0),
    "robustness": Profile("robustness", ("robustness",), 0, 0, 0),
    "webhooks": Profile("webhooks", ("webhooks",), 0, 0, 0),
    "full": Profile("full", EVERY_LAYER, 50, 50, 40),
}
DEFAULT_PROFILE = "core"


@dataclass
class Settings:
    """One run's settings. `deadline` (time.monotonic) bounds the whole run."""

    profile: Profile
    seed: int
    budget_s: float = 600.0
    started: float = field(default_factory=time.monotonic)
    require_all: bool = False  # a skipped MUST fails the run too (`--require-all`)
    clock_skew_s: float = 1.0  # tolerance of timestamp order between server clocks

    @property
    def deadline(self) -> float:
        return self.started + self.budget_s

    def time_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


Emit = Callable[[Event], None]
Layer = Callable[[Target, list[Requirement], Settings, Emit], list[Result]]
"""A layer runs its checks and returns one Result per requirement of its layer.

- It reports every requirement of its layer in the catalogue exactly once (SKIPPED with a
  reason when it cannot check it: no admin token, no clock control, budget spent).
- It never raises for a misbehaving server: timeouts, resets and non-JSON answers are FAILED
  results with the exchanges that show them.
- It emits `LayerStarted` and `Progress` events for the progress bar.
"""
