"""The catalogue: stable IDs built from the spec."""

from pathlib import Path

from conformance.parent_states import closed_states, route
from conformance.requirement_templates import CREATED_RULE, SKEW
from conformance.requirements import build_catalogue, resource_code
from kycspec.loader import load_all, load_spec

LEVELCHECK = Path(__file__).parents[1] / "data" / "levelcheck" / "levelcheck.yaml"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def test_requirements_resource_code_is_upper_kebab() -> None:
    assert resource_code("kyc_record") == "KYC-RECORD"


def test_requirements_lifecycle_ids_carry_the_resource_code() -> None:
    for name, spec in load_all().items():
        lifecycle = {r.id for r in build_catalogue(spec) if r.layer == "lifecycle"}
        expected = {
            r.id
            for resource in spec.resources
            for r in build_catalogue(spec)
            if r.id.startswith(f"{name.upper()}-{resource_code(resource)}-LC-")
        }
        assert lifecycle == expected


def test_requirements_timestamps_statement_names_the_resource_fields() -> None:
    spec = load_all()["finhub"]
    resource = spec.resources["verification"]
    assert (resource.created_field, resource.updated_field) != ("created_at", "updated_at")
    code = f"-{resource_code(resource.name)}-"
    statement = next(
        r.statement
        for r in build_catalogue(spec)
        if r.check == "timestamps_consistent" and code in r.id
    )
    assert statement.startswith(f"{resource.created_field} never changes; ")
    assert f"; {resource.updated_field} never goes back" in statement


def test_requirements_parent_rules_only_for_children_naming_the_spec() -> None:
    spec = load_all(EXAMPLES)["onboardly"]
    catalogue = {r.id: r for r in build_catalogue(spec)}
    required = catalogue["ONBOARDLY-CHECK-LC-016"]
    gated = catalogue["ONBOARDLY-CHECK-LC-017"]
    assert (required.check, gated.check) == ("parent_required", "parent_state_gates_writes")
    assert "applicant_id names no applicant of the caller" in required.statement
    assert gated.statement.startswith("A write (create) while its applicant is in state redacted")
    assert "refused with 409" in gated.statement
    assert "ONBOARDLY-APPLICANT-LC-016" not in catalogue
    for name, other in load_all().items():
        checks = {r.check for r in build_catalogue(other)}
        assert not checks & {"parent_required", "parent_state_gates_writes"}, name


def test_requirements_parent_route_follows_unguarded_operations() -> None:
    spec = load_all(EXAMPLES)["onboardly"]
    lifecycle = spec.resources["applicant"].lifecycle
    assert lifecycle is not None
    steps = route(lifecycle, "active", closed_states(spec, spec.resources["check"]))
    assert [(t.operation, t.target) for t in steps or ()] == [("redactApplicant", "redacted")]
    assert route(lifecycle, "redacted", ("active",)) is None
    assert route(lifecycle, "redacted", ("redacted",)) == ()


def test_requirements_timestamps_statement_names_only_declared_fields() -> None:
    spec = load_spec(LEVELCHECK)
    resource = spec.resources["idDoc"]  # timestamps: {created: addedAt}, no updated field
    statement = next(
        r.statement
        for r in build_catalogue(spec)
        if r.check == "timestamps_consistent" and "-IDDOC-" in r.id
    )
    assert resource.updated_field not in statement
    rule = CREATED_RULE.format(created="addedAt")
    assert statement == rule + SKEW.format(both="") + "."
