"""Record-event hooks: what else happens when a record enters a lifecycle state.

A hook is a plain function of `Entered`, registered in `RECORD_HOOKS` under its name; the
engine calls every registered hook, in registration order, after the record is stored, for
each state a record enters: on create, through an operation, when the clock moves it, and
when a cascade from its parent does. An implementer must:

- take one `Entered` and return nothing; write only through `Entered.engine` and the store;
- raise nothing for a record it has no business with (the hook runs for every resource);
- keep to the request's sandbox (`Entered.sandbox`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kycspec.expressions import Context
from kycspec.model import Resource
from kycspec.registry import Registry
from kycspec.types import JSONObject

if TYPE_CHECKING:
    from mockserver.engine import Engine

# How the record got into its state.
VIA_CREATE = "create"
VIA_OPERATION = "operation"
VIA_CLOCK = "clock"
VIA_CASCADE = "cascade"


@dataclass(frozen=True)
class Entered:
    """A record entered `state` (it is already stored)."""

    engine: "Engine"
    sandbox: str
    resource: Resource
    partition: tuple[str, ...]
    record: JSONObject
    state: str
    ctx: Context
    via: str


RecordHook = Callable[[Entered], None]
RECORD_HOOKS: Registry[RecordHook] = Registry("record hook")
