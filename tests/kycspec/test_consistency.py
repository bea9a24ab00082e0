"""Typos in the extensions are refused at load time instead of leaving a rule silently dead."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kycspec.consistency import NOT_A_STATE
from kycspec.loader import (
    NO_DOCUMENTS,
    SPECS_DIR,
    SpecError,
    build_spec,
    load_all,
    read_document,
)
from kycspec.problems import DocumentError

FINX = read_document(SPECS_DIR / "finx.yaml")
FINHUB = read_document(SPECS_DIR / "finhub.yaml")


def _broken(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def _rename_transition_operation(doc: dict[str, Any]) -> None:
    doc["x-resources"]["kyc_record"]["lifecycle"]["transitions"][0]["via"]["operation"] = (
        "updateKyc"
    )


def _misspell_magic_operation(doc: dict[str, Any]) -> None:
    doc["x-sandbox"]["magic"][0]["operations"] = ["createKyc"]


def _unknown_error_kind(doc: dict[str, Any]) -> None:
    doc["x-errors"]["codes"]["not_fund"] = "resource_missing"


def _limit_without_default(doc: dict[str, Any]) -> None:
    del doc["components"]["parameters"]["Limit"]["schema"]["default"]


def _unknown_filter_op(doc: dict[str, Any]) -> None:
    doc["components"]["parameters"]["CustomerIdFilter"]["x-filter"]["op"] = "like"


def _unknown_test(doc: dict[str, Any]) -> None:
    doc["x-sandbox"]["magic"][0]["when"] = {"body.document_number": {"prefx": "000"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_rename_transition_operation, "'updateKyc', not an operation of this resource"),
        (_misspell_magic_operation, "unknown operation 'createKyc'"),
        (_unknown_error_kind, "/x-errors/codes: unknown key 'not_fund' \\(did you mean"),
        (_limit_without_default, "needs a default"),
        (_unknown_filter_op, "CustomerIdFilter/x-filter/op: 'like' is not one of: eq, gt"),
        (_unknown_test, "/when/body.document_number: unknown key 'prefx' \\(did you mean"),
    ],
)
def test_build_spec_refuses_a_dangling_reference(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises((SpecError, ValueError), match=message):
        build_spec("finx", _broken(FINX, change))


def test_build_spec_refuses_a_transition_target_that_is_no_state() -> None:
    def change(doc: dict[str, Any]) -> None:
        path = doc["paths"]["/verifications/{verificationId}/approve"]["post"]
        path["x-operation"]["target"] = "APPROVD"

    with pytest.raises(SpecError) as raised:
        build_spec("finhub", _broken(FINHUB, change), source="specs/finhub.yaml")
    states = ", ".join(FINHUB["x-resources"]["verification"]["lifecycle"]["states"])
    problem = NOT_A_STATE.format(operation="approveVerification", target="APPROVD", states=states)
    at = "/paths/~1verifications~1{verificationId}~1approve/post/x-operation/target"
    assert str(raised.value) == f"specs/finhub.yaml#{at}: {problem}"


def test_build_spec_accepts_the_real_specs() -> None:
    assert build_spec("finx", copy.deepcopy(FINX)).operations
    assert build_spec("finhub", copy.deepcopy(FINHUB)).operations


def test_load_all_refuses_a_directory_without_specs(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as raised:
        load_all(tmp_path)
    assert raised.value.message == NO_DOCUMENTS.format(directory=tmp_path)
