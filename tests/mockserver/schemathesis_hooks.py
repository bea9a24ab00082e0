"""Schemathesis hooks for test_schemathesis.py, loaded by `st run` through SCHEMATHESIS_HOOKS.

Two things, each kept as narrow as it can be:

1. A fresh sandbox for every stateful scenario. The `before_call` hook resets the run's sandbox
   (POST /__mock/sandboxes/<name>/reset) before the first request of each scenario. Schemathesis
   runs each scenario as one Hypothesis example (and each replay while shrinking as another), so
   a new Hypothesis build context means a new scenario. Without this, records from earlier
   scenarios leak in (FinHub's submit acts on the customer's newest verification), and a failing
   scenario would not replay the same way.
2. Really omitting `User-Agent` when a negative case is about a missing `User-Agent`. FinHub's
   docs require the header and the mock answers 400 without it, but schemathesis leaves the
   header out only for urllib3 to put its own `python-urllib3/x` back, so the mock saw a valid
   header and the checks reported "missing header accepted". urllib3's SKIP_HEADER marker tells
   it to send no User-Agent at all, so the check now tests what it means to.
"""

import os
import urllib.request
from typing import Any

import schemathesis
from hypothesis.control import current_build_context
from schemathesis.generation.meta import TestPhase
from schemathesis.transport.prepare import get_exclude_headers
from schemathesis.transport.requests import RequestsTransport
from urllib3.util import SKIP_HEADER

RESET_URL = os.environ["KYC_ST_RESET_URL"]
RESET_LOG = os.environ["KYC_ST_RESET_LOG"]

_last_scenario: list[Any] = [None]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.meta is None or case.meta.phase.name != TestPhase.STATEFUL:
        return
    build = current_build_context()
    if build is _last_scenario[0]:
        return
    _last_scenario[0] = build  # holding it keeps its id from being reused by the next one
    request = urllib.request.Request(RESET_URL, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204, f"sandbox reset failed: {response.status}"
    with open(RESET_LOG, "a", encoding="utf-8") as log:
        log.write("reset\n")


_serialize_case = RequestsTransport.serialize_case


def _serialize_without_user_agent(self: Any, case: Any, **kwargs: Any) -> dict[str, Any]:
    data = _serialize_case(self, case, **kwargs)
    if any(name.lower() == "user-agent" for name in get_exclude_headers(case)):
        data["headers"]["User-Agent"] = SKIP_HEADER
    return data


RequestsTransport.serialize_case = _serialize_without_user_agent  # type: ignore[method-assign]
