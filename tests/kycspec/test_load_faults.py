"""Every mistake in a document that stops it compiling is refused as one `DocumentError`: the
file, the JSON pointer of the node at fault, and what is allowed there, never a bare message.

Each case is one line of tests/data/levelcheck/levelcheck.yaml (a Sumsub-shaped vendor that
loads) changed the way a new spec author gets it wrong.
"""

from pathlib import Path

import pytest

from kycspec.consistency import NOT_A_STATE, PARENT_PARAM
from kycspec.expressions import BAD_TIME, NOT_A_PATTERN
from kycspec.idformat import UNKNOWN_PLACEHOLDER
from kycspec.loader import load_spec
from kycspec.problems import DocumentError

GOOD = Path(__file__).parents[1] / "data" / "levelcheck" / "levelcheck.yaml"
STATES = "init, pending, onHold, completed, deactivated"
ONE = "/paths/~1resources~1applicants~1{applicantId}~1one/get"
DEACTIVATE = "/paths/~1resources~1applicants~1{applicantId}~1presence~1deactivated/patch"
GUARD = "/x-resources/applicant/lifecycle/transitions/1/guards/0/require/body.reviewRejectType"
ROOTS = "allowed: auth, body, code, detail"

# (line as it is, line as written by mistake, JSON pointer, part of the message)
CASES = {
    "error envelope": (
        "body: {description: $detail,",
        "body: {description: $details,",
        "/x-errors/body/description",
        f"unknown expression '$details': unknown path root in 'details'; {ROOTS}",
    ),
    "error envelope status": (
        "code: $status, errorName",
        "code: $stat, errorName",
        "/x-errors/body/code",
        "unknown expression '$stat'",
    ),
    "defaults expression": (
        "      reviewAnswer: null\n",
        "      reviewAnswer: $nwo\n",
        "/x-resources/applicant/defaults/reviewAnswer",
        f"unknown expression '$nwo': unknown path root in 'nwo'; {ROOTS}",
    ),
    "time arithmetic": (
        "pending: {reviewDueAt: $now+1d}",
        "pending: {reviewDueAt: $now+1days}",
        "/x-resources/applicant/lifecycle/on-enter/pending/reviewDueAt",
        BAD_TIME.format(text="$now+1days"),
    ),
    "response expression": (
        "x-operation: {role: read, resource: applicant, response: $record}",
        "x-operation: {role: read, resource: applicant, response: $recrd}",
        f"{ONE}/x-operation/response",
        "unknown expression '$recrd'",
    ),
    "id format": (
        "format: '{hex:24}'}",
        "format: '{hexx:24}'}",
        "/x-resources/applicant/id/format",
        UNKNOWN_PLACEHOLDER.format(fmt="{hexx:24}"),
    ),
    "guard pattern": (
        "require: {body.reviewRejectType: {in: [FINAL, RETRY]}}",
        "require: {body.reviewRejectType: {pattern: '[A-'}}",
        f"{GUARD}/pattern",
        NOT_A_PATTERN.split("{error}")[0].format(arg="[A-"),
    ),
    "parent param": (
        "param: applicantId",
        "param: applicant_id",
        "/x-resources/idDoc/parent/param",
        PARENT_PARAM.format(
            child="idDoc",
            parent="applicant",
            operations="addIdDoc, listIdDocs, getIdDoc",
            param="applicant_id",
            allowed="applicantId, imageId",
        ),
    ),
    "target state": (
        "resource: applicant, target: deactivated,",
        "resource: applicant, target: deactivate,",
        f"{DEACTIVATE}/x-operation/target",
        NOT_A_STATE.format(operation="deactivateApplicant", target="deactivate", states=STATES),
    ),
    "clock field": (
        "via: {clock: reviewDueAt}}",
        "via: {clock: reviewDue}}",
        "/x-resources/applicant/lifecycle/transitions/2/via/clock",
        "did you mean 'reviewDueAt'?",
    ),
    "defaults field": (
        "inspectionId: '$id:{hex:24}'",
        "inspectionID: '$id:{hex:24}'",
        "/x-resources/applicant/defaults/inspectionID",
        "did you mean 'inspectionId'?",
    ),
    "guard test": (
        "{in: [FINAL, RETRY]}}",
        "{oneof: [FINAL, RETRY]}}",
        GUARD,
        "unknown key 'oneof' (allowed: equals, in, prefix, pattern)",
    ),
    "writable-in state": (
        "writable-in: [init, pending, onHold]",
        "writable-in: [init, pending, on_hold]",
        "/x-resources/idDoc/parent",
        f"['on_hold'] are not states of 'applicant'; allowed: {STATES}",
    ),
    "operation extension": (
        "      x-operation: {role: read, resource: applicant, response: $record}",
        "      x-operaton: {role: read, resource: applicant, response: $record}",
        f"{ONE}/x-operaton",
        "did you mean 'x-operation'?",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_document_that_cannot_compile_names_file_pointer_and_what_is_allowed(
    tmp_path: Path, case: str
) -> None:
    right, wrong, at, problem = CASES[case]
    text = GOOD.read_text(encoding="utf-8")
    assert text.count(right) == 1, "the case names one line of the document"
    path = tmp_path / "levelcheck.yaml"
    path.write_text(text.replace(right, wrong), encoding="utf-8")
    with pytest.raises(DocumentError) as raised:
        load_spec(path)
    assert raised.value.file == str(path)
    assert raised.value.pointer == at
    assert problem in raised.value.message
    assert str(raised.value).startswith(f"{path}#{at}: ")
    assert str(path) not in raised.value.message


def test_the_document_the_cases_change_loads() -> None:
    assert load_spec(GOOD).operations
