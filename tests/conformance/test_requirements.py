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
