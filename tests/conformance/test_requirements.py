"""The catalogue: stable IDs built from the spec."""

from conformance.requirements import build_catalogue, resource_code
from kycspec.loader import load_all


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
