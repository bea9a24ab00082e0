"""A required body with no required field: the suite never sends it as no content where a
check is about something else, and a server may refuse an empty form as a missing body.

OpenAPI 3.0.3 section 4.7.13 (`requestBody.required`) and RFC 9110 section 8.6: an empty form is
no content, so a 400 to it is the server's choice, not a refusal of valid data; isolation
(SEC-003) and read-only states (LC-014) send one field, so their answer is about what they name.
"""

from pathlib import Path

from conformance.results import Verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.hostile import EmptyBodyRefused
from tests.conformance.thingspec import lifecycle_document, target_for, write_both

PROFILE = Profile("required-body", ("schema", "security", "lifecycle"), 6, 10, 12)


def test_a_server_refusing_an_empty_form_is_judged_on_what_each_check_names(
    tmp_path: Path,
) -> None:
    document = lifecycle_document()
    spec, served = write_both(tmp_path, document, document)
    with serve_in_thread(EmptyBodyRefused(create_app(served))) as url:
        target = target_for(spec, url, token_b="test_other_account")
        results = run(target, Settings(PROFILE, seed=1, budget_s=120), lambda e: None)
    verdicts = {r.requirement.check: (r.verdict, r.message) for r in results}
    bad = {k: v for k, v in verdicts.items() if v[0] in (Verdict.FAILED, Verdict.ERROR)}
    assert bad == {}, bad
    assert verdicts["accounts_isolated"][0] is Verdict.PASSED
    assert verdicts["read_only_states_refuse_writes"][0] is Verdict.PASSED
