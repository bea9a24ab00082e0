"""Every spec is a valid OpenAPI 3.0.3 document (connexion refuses 3.1)."""

import copy
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from kycspec import SPECS_DIR
from kycspec.loader import read_document

SPEC_FILES = sorted(SPECS_DIR.glob("*.yaml"))


def test_specs_directory_holds_the_three_apis() -> None:
    assert {path.stem for path in SPEC_FILES} == {"finx", "kontorion", "finhub"}


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_validates_with_openapi_spec_validator(path: Path) -> None:
    validate(read_document(path), cls=OpenAPIV30SpecValidator)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_declares_openapi_3_0_3(path: Path) -> None:
    assert read_document(path)["openapi"] == "3.0.3"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_validator_rejects_a_broken_copy(path: Path) -> None:
    """The validator really checks: dropping an operation's responses must fail."""
    document = copy.deepcopy(read_document(path))
    path_item = next(iter(document["paths"].values()))
    operation = next(v for k, v in path_item.items() if k in {"get", "post", "put", "patch"})
    del operation["responses"]
    with pytest.raises(OpenAPIValidationError):
        validate(document, cls=OpenAPIV30SpecValidator)
