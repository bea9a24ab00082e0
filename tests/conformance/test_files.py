"""The suite's judgement of file answers (conformance.files): declared Accept, well-formed files."""

from pathlib import Path

import pytest

from conformance.files import NO_PDF_END, NO_SIGNATURE, TOO_SHORT, accept_for, file_problem
from kycspec.loader import build_spec, load_all, read_document
from kycspec.model import Operation
from mockserver.files import stand_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
SPEC = load_all(EXAMPLES)["onboardly"]
DOWNLOAD = SPEC.operations["downloadCheck"]


def test_files_accept_is_the_declared_media_types() -> None:
    assert accept_for(DOWNLOAD) == {"Accept": "application/pdf"}
    assert accept_for(SPEC.operations["getCheck"]) == {}


def test_files_read_operations_answering_json_come_first() -> None:
    readers = SPEC.operations_of("check", "read")
    assert [op.operation_id for op in readers] == ["getCheck", "downloadCheck"]
    assert DOWNLOAD.answers_file and not readers[0].answers_file


@pytest.mark.parametrize(
    ("content_type", "body", "problem"),
    [
        ("application/pdf", stand_in("application/pdf", "c1"), None),
        ("application/pdf; charset=binary", stand_in("application/pdf", "c1"), None),
        (
            "application/pdf",
            b"",
            NO_SIGNATURE.format(media="application/pdf", signature=b"%PDF-", start=b""),
        ),
        (
            "application/pdf",
            b'{"report": 1}',
            NO_SIGNATURE.format(media="application/pdf", signature=b"%PDF-", start=b'{"report'),
        ),
        ("application/pdf", b"%PDF-1.4\ncut off", NO_PDF_END),
        ("application/json", b"", None),  # JSON is the schema checks' to judge
        ("image/png", b"", None),  # undeclared: content_type_conformance's
    ],
)
def test_files_problem_of_a_pdf_answer(content_type: str, body: bytes, problem: str | None) -> None:
    assert file_problem(DOWNLOAD, content_type, body) == problem


def _declaring(media: str, schema: dict[str, object]) -> Operation:
    document = read_document(EXAMPLES / "onboardly.yaml")
    path = "/applicants/{applicant_id}/checks/{check_id}/download"
    document["paths"][path]["get"]["responses"]["200"]["content"] = {media: {"schema": schema}}
    return build_spec("onboardly", document).operations["downloadCheck"]


def test_files_problem_of_types_without_a_signature() -> None:
    csv = _declaring("text/csv", {"type": "string", "minLength": 1})
    assert file_problem(csv, "text/csv", b"") == TOO_SHORT.format(media="text/csv", size=0, low=1)
    assert file_problem(csv, "text/csv", b"id\r\n") is None
    png = _declaring("image/png", {"type": "string", "format": "binary"})
    assert file_problem(png, "image/png", stand_in("image/png", "c1")) is None
    assert file_problem(png, "image/png", b"GIF89a") is not None
