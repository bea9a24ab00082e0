"""The lifecycle layer passes against the mock and fails cleanly on servers that misbehave.

That it catches broken mocks is shown by the mutation score test (test_mutation_score.py).
"""

import time
from typing import Any

import pytest

from conformance.http import TranscriptClient
from conformance.layers.lifecycle import _results, run_lifecycle
from conformance.layers.lifecycle_model import ADMIN, USER, AuthValue
from conformance.layers.lifecycle_plan import Run, Violation, build_plan
from conformance.layers.lifecycle_scenario import (
    AUTH_MOVED,
    AUTH_SHARED,
    AUTH_UNCONFIRMED,
    UNCONFIRMED,
)
from conformance.layers.lifecycle_writes import GUARD_REFUSED, NOT_GONE, Steps
from conformance.records import GONE_TEXT
from conformance.requirements import build_catalogue
from conformance.results import Result, Verdict
from conformance.settings import Profile, Settings
from conformance.tally import PARTLY_FIELDS, Tally
from conformance.target import Target
from kycspec import load_all
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.broken import SKIP_DELETE
from tests.conformance.conftest import Served

SPECS = load_all()
PASS_PROFILE = Profile("lifecycle-test", ("lifecycle",), 0, 25, 20)
QUICK_PROFILE = Profile("lifecycle-quick", ("lifecycle",), 0, 12, 15)
SEED = 1


def run_against(url: str, api: str, profile: Profile) -> tuple[list[Result], float]:
    spec = SPECS[api]
    target = Target(
        spec,
        f"{url}/{api}{spec.base_path}",
        "test_lifecycle",
        admin_token="admin_lifecycle",
        control_url=f"{url}/__mock",
        magic=True,
        timeout=5.0,
        sandbox="lifecycle",
    )
    started = time.monotonic()
    results = run_lifecycle(
        target, build_catalogue(spec), Settings(profile, seed=SEED, budget_s=60), lambda e: None
    )
    return results, time.monotonic() - started


@pytest.mark.parametrize("api", sorted(SPECS))
def test_lifecycle_layer_passes_against_the_mock(api: str) -> None:
    with serve_in_thread(create_app(validate_responses=True)) as url:
        results, took = run_against(url, api, PASS_PROFILE)
    print(f"\n{api}: lifecycle layer {took:.1f}s against the mock")
    bad = [
        f"{r.requirement.id} {r.verdict}: {r.message}"
        for r in results
        if r.verdict
        in (
            Verdict.FAILED,
            Verdict.ERROR,
        )
    ]
    assert not bad, "\n".join(bad)
    unexercised = [r.requirement.id for r in results if r.cases == 0]
    assert not unexercised, unexercised
    expected = {r.id for r in build_catalogue(SPECS[api]) if r.layer == "lifecycle"}
    assert {r.requirement.id for r in results} == expected


async def _not_json(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"<html>maintenance</html>"})


def test_lifecycle_layer_fails_cleanly_on_non_json_and_unreachable_servers() -> None:
    spec = SPECS["finx"]
    settings = Settings(QUICK_PROFILE, seed=SEED, budget_s=30)
    with serve_in_thread(_not_json) as url:
        target = Target(spec, f"{url}/finx", "test_lifecycle", timeout=2.0)
        garbled = run_lifecycle(target, build_catalogue(spec), settings, lambda e: None)
    closed = Target(spec, url, "test_lifecycle", timeout=2.0)  # the server is gone now
    started = time.monotonic()
    unreachable = run_lifecycle(closed, build_catalogue(spec), settings, lambda e: None)
    assert time.monotonic() - started < 20
    for results in (garbled, unreachable):
        verdicts = {r.verdict for r in results}
        assert Verdict.FAILED in verdicts
        assert Verdict.ERROR not in verdicts
        assert Verdict.PASSED not in verdicts


def test_lifecycle_layer_deleted_record_still_readable_names_every_gone_status(
    broken: Served,
) -> None:
    broken.app.mode = SKIP_DELETE
    target = broken.target("finx", sandbox="conf")
    settings = Settings(QUICK_PROFILE, seed=SEED, budget_s=60)
    results = run_lifecycle(target, build_catalogue(target.spec), settings, lambda e: None)
    failed = [r for r in results if r.requirement.check == "deleted_records_gone"]
    assert failed and all(r.verdict is Verdict.FAILED for r in failed)
    expected = NOT_GONE.split("{status}")[1].format(gone=GONE_TEXT)
    assert all(expected in r.message for r in failed), [r.message for r in failed]


@pytest.mark.parametrize(("presented", "passes"), [("ctl-secret", True), ("wrong", False)])
def test_lifecycle_layer_presents_the_control_token(presented: str, passes: bool) -> None:
    spec = SPECS["kontorion"]
    with serve_in_thread(create_app(control_token="ctl-secret")) as url:
        target = Target(
            spec,
            f"{url}/kontorion{spec.base_path}",
            "test_lifecycle",
            admin_token="admin_lifecycle",
            control_url=f"{url}/__mock",
            magic=True,
            timeout=5.0,
            control_token=presented,
            sandbox="lifecycle",
        )
        settings = Settings(QUICK_PROFILE, seed=SEED, budget_s=60)
        results = run_lifecycle(target, build_catalogue(spec), settings, lambda e: None)
    expiry = [r for r in results if r.requirement.check == "clock_expiry"]
    assert expiry
    if passes:
        assert all(r.verdict is Verdict.PASSED for r in expiry), [r.message for r in expiry]
    else:
        assert all(r.verdict is not Verdict.PASSED for r in expiry)
        assert any("control plane" in r.message for r in results), [r.message for r in results]


def test_lifecycle_guard_is_provoked_once_a_record_it_applies_to_exists() -> None:
    # FinHub: a low-risk verification (a magic value) requires two documents; an upload of the
    # third is what its guard refuses. Until a refusal has been seen, the write is aimed at it.
    spec = SPECS["finhub"]
    target = Target(spec, "http://127.0.0.1:9", "test_guard", magic=True)
    tallies = {r.check: Tally(r) for r in build_catalogue(spec) if r.check == "guards_enforced"}
    resource = spec.resources["verification"]
    plan = build_plan(spec, resource, target)
    assert plan is not None
    with TranscriptClient(target) as client:
        steps = Steps(plan, Run(target, Settings(QUICK_PROFILE, SEED), client, tallies))
    upload = spec.operations["uploadVerificationDocument"]
    steps.records["ver_low"] = {"status": "INITIATED", "requiredDocuments": ["GOVERNMENT_ID"]}
    body: dict[str, Any] = {"documentType": "GOVERNMENT_ID", "file": b"%PDF"}
    steps._provoke_guard(upload, "ver_low", body, {})
    assert body["documentType"] != "GOVERNMENT_ID"
    # once a guard has refused, the draws decide again
    tallies["guards_enforced"].ran(unit=GUARD_REFUSED)
    body = {"documentType": "GOVERNMENT_ID", "file": b"%PDF"}
    steps._provoke_guard(upload, "ver_low", body, {})
    assert body["documentType"] == "GOVERNMENT_ID"


def test_lifecycle_auth_values_are_one_per_api_key() -> None:
    # Kontorion's actor_id is `$auth.actor`: learnt from the first record each key writes, then
    # the same on every record that key writes, and never another key's.
    spec = SPECS["kontorion"]
    target = Target(spec, "http://127.0.0.1:9", "test_a", admin_token="admin_a")
    plan = build_plan(spec, spec.resources["verification"], target)
    assert plan is not None
    with TranscriptClient(target) as client:
        scenario = Steps(plan, Run(target, Settings(QUICK_PROFILE, SEED), client, {}))
    user, admin = AuthValue("actor", USER, create=True), AuthValue("actor", ADMIN)
    learnt = scenario.resolve_auth(
        "v1", {"actor_id": user}, {"actor_id": "u-1"}, "read_after_write"
    )
    assert learnt == {"actor_id": "u-1"}
    with pytest.raises(Violation) as moved:
        scenario.resolve_auth("v2", {"actor_id": user}, {"actor_id": "u-2"}, "read_after_write")
    assert moved.value.message == AUTH_MOVED.format(
        rid="v2", field="actor_id", seen="u-2", option="--token", key="actor", known="u-1"
    )
    with pytest.raises(Violation) as shared:
        scenario.resolve_auth("v1", {"actor_id": admin}, {"actor_id": "u-1"}, "read_after_write")
    assert shared.value.message == AUTH_SHARED.format(
        rid="v1", field="actor_id", seen="u-1", key="actor", option="--admin-token", other="--token"
    )
    # the account's values are shared by its keys
    org = {"organization_id": AuthValue("organization", ADMIN)}
    scenario.resolve_auth(
        "v1",
        {"organization_id": AuthValue("organization", USER)},
        {"organization_id": "o"},
        "read_after_write",
    )
    assert scenario.resolve_auth("v3", org, {"organization_id": "o"}, "read_after_write") == {
        "organization_id": "o"
    }


def test_lifecycle_auth_value_only_the_write_under_check_showed_is_not_passed() -> None:
    # Kontorion's admin override sets actor_id to `$auth.actor`: what it writes is checked
    # against what a create made with --admin-token showed; never shown, it is not PASSED.
    spec = SPECS["kontorion"]
    target = Target(spec, "http://127.0.0.1:9", "test_a", admin_token="admin_a")
    plan = build_plan(spec, spec.resources["verification"], target)
    assert plan is not None
    catalogue = build_catalogue(spec)
    tallies = {r.check: Tally(r) for r in catalogue if r.resource == "verification"}
    with TranscriptClient(target) as client:
        run = Run(target, Settings(QUICK_PROFILE, SEED), client, tallies)
        scenario = Steps(plan, run)
    check = "allowed_transitions_accepted"
    override, created = AuthValue("actor", ADMIN), AuthValue("actor", ADMIN, create=True)
    fixed = "00000000-0000-4000-8000-000000000000"
    scenario.resolve_auth("v1", {"actor_id": override}, {"actor_id": fixed}, check)
    for name in (check, "read_after_write"):
        tallies[name].ran()
    verdicts = {r.requirement.check: r for r in _results(run, plan)}
    what = UNCONFIRMED.format(key="actor", option="--admin-token", field="actor_id")
    assert verdicts[check].verdict is Verdict.SKIPPED
    assert verdicts[check].message == PARTLY_FIELDS.format(what=what)
    assert verdicts["read_after_write"].verdict is Verdict.PASSED
    # a create by the same key showing another value fails the write that set the first one
    with pytest.raises(Violation) as moved:
        scenario.resolve_auth("v2", {"actor_id": created}, {"actor_id": "a-1"}, "read_after_write")
    assert moved.value.check == check and moved.value.also == ("read_after_write",)
    assert moved.value.message == AUTH_UNCONFIRMED.format(
        rid="v2", field="actor_id", seen="a-1", option="--admin-token", key="actor", known=fixed
    )
    # the same value shown by a create confirms it
    scenario.resolve_auth("v3", {"actor_id": created}, {"actor_id": fixed}, "read_after_write")
    assert run.unconfirmed == {}
