"""Valid data with a number beyond RFC 8259's interoperable range proves nothing when refused.

RFC 8259 section 6 lets a parser limit the range of numbers; the mock refuses an integer beyond
64 bits with 400. A body schema whose valid values all lie beyond +-(2**53 - 1) is therefore
never counted as valid data refused, on the spec-driven layer as on the plain-document one.
"""

from pathlib import Path

from conformance.results import Verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.thingspec import target_for, write_both
from tests.tinyspec import tiny_document

PROFILE = Profile("numbers", ("schema",), 6, 0, 0)


def test_valid_data_beyond_the_interoperable_range_is_not_judged_when_refused(
    tmp_path: Path,
) -> None:
    document = tiny_document()
    properties = document["components"]["schemas"]["Thing"]["properties"]
    properties["serial"] = {"type": "integer", "minimum": 10**19}  # beyond 64 bits, every value
    document["components"]["schemas"]["Thing"]["required"] = ["serial"]
    spec, served = write_both(tmp_path, document, document)
    with serve_in_thread(create_app(served)) as url:
        results = run(target_for(spec, url), Settings(PROFILE, seed=1, budget_s=60), lambda e: None)
    verdicts = {r.requirement.check: (r.verdict, r.message) for r in results}
    assert verdicts["positive_data_acceptance"][0] is not Verdict.FAILED, verdicts
    assert all(v is not Verdict.ERROR for v, _ in verdicts.values()), verdicts
