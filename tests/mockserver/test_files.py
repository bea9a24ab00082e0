"""File answers (kycspec.media, mockserver.files): a non-JSON success body is the declared
example or a valid stand-in file, in the media type `Accept` prefers."""

import re
import shutil
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec.loader import SpecError, build_spec, read_document
from kycspec.media import MISSING_FILE, NOT_RELATIVE, NOT_TEXT
from mockserver import errors
from mockserver.app import create_app
from mockserver.files import STAND_IN, stand_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
ONBOARDLY = "/onboardly/v3.6"
INQUIRE = "/inquire/v1"
TOKEN = {"Authorization": "Token token=test_files"}
BASIC = {"Authorization": "Basic dGVzdF9maWxlczo="}  # test_files:
DOWNLOAD = "/paths/~1applicants~1{applicant_id}~1checks~1{check_id}~1download/get"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(EXAMPLES, validate_responses=True))


def _check(client: TestClient) -> str:
    """The download path of a new check."""
    applicant = client.post(
        f"{ONBOARDLY}/applicants", headers=TOKEN, json={"first_name": "J", "last_name": "D"}
    ).json()["id"]
    check = client.post(
        f"{ONBOARDLY}/applicants/{applicant}/checks",
        headers=TOKEN,
        json={"report_names": ["document"]},
    ).json()["id"]
    return f"{ONBOARDLY}/applicants/{applicant}/checks/{check}/download"


def _pdf_objects(body: bytes) -> None:
    """The cross-reference table points at each object (ISO 32000-1 section 7.5.4)."""
    start = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert body[start:].startswith(b"xref\n")
    rows = body[start:].split(b"\n")[3:]
    for number, row in enumerate(rows[: int(body[start:].split(b"\n")[1].split()[1]) - 1], 1):
        offset = int(row.split()[0])
        assert body[offset:].startswith(b"%d 0 obj" % number)


@pytest.mark.parametrize("accept", [None, "application/pdf", "*/*", "application/*;q=0.2"])
def test_files_stand_in_pdf_names_the_check(client: TestClient, accept: str | None) -> None:
    path = _check(client)
    headers = {**TOKEN, **({"Accept": accept} if accept else {})}
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert int(response.headers["content-length"]) == len(response.content)
    check_id = path.split("/")[-2]
    disposition = f'attachment; filename="check-{check_id}.pdf"'
    assert response.headers["content-disposition"] == disposition
    body = response.content
    assert body.startswith(b"%PDF-1.4\n") and body.endswith(b"%%EOF\n")
    assert f"(Record {check_id})".encode() in body
    _pdf_objects(body)


@pytest.mark.parametrize("accept", ["application/json", "text/html, application/pdf;q=0"])
def test_files_unmet_accept_is_406_in_the_vendor_envelope(client: TestClient, accept: str) -> None:
    response = client.get(_check(client), headers={**TOKEN, "Accept": accept})
    assert response.status_code == 406
    assert response.json() == {
        "error": {
            "type": "not_acceptable",
            "message": errors.NOT_ACCEPTABLE.format(
                available="application/pdf", accept=repr(accept)
            ),
        }
    }


def test_files_unknown_record_is_a_json_404(client: TestClient) -> None:
    path = _check(client).replace("/download", "").rsplit("/", 1)[0]
    response = client.get(f"{path}/{uuid.uuid4()}/download", headers=TOKEN)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_files_external_value_is_sent_as_the_file(client: TestClient) -> None:
    created = client.post(f"{INQUIRE}/inquiries", headers=BASIC, json={"reference_id": "r-1"})
    inquiry = created.json()["data"]["attributes"]["id"]
    response = client.get(f"{INQUIRE}/inquiries/{inquiry}/print", headers=BASIC)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == (EXAMPLES / "files" / "inquiry-print.pdf").read_bytes()


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    found, at = [], 8
    while at < len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        (crc,) = struct.unpack(">I", png[at + 8 + size : at + 12 + size])
        assert crc == zlib.crc32(kind + data), kind
        found.append((kind, data))
        at += 12 + size
    return found


def test_files_stand_ins_are_valid_files_of_their_type() -> None:
    png = stand_in("image/png", "doc_1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = _chunks(png)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"tEXt", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[0][1][:8]) == (1, 1)
    assert chunks[1][1] == b"Title\x00doc_1"
    assert zlib.decompress(chunks[2][1]) == b"\x00" * 5  # filter byte, one RGBA pixel
    jpeg = stand_in("image/jpeg", "doc_1")
    markers = re.findall(rb"\xff([\xc0-\xfe])", jpeg.split(b"\xff\xda")[0])
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    assert markers == [b"\xd8", b"\xe0", b"\xfe", b"\xdb", b"\xc0", b"\xc4", b"\xc4"]
    assert b"doc_1" in jpeg
    assert stand_in("image/gif", "doc_1").startswith(b"GIF89a\x01\x00\x01\x00")
    assert stand_in("text/csv; charset=utf-8", "doc_1") == b"id\r\ndoc_1\r\n"
    octets = stand_in("application/octet-stream", "doc_1")
    assert octets == STAND_IN.format(media="application/octet-stream", name="doc_1").encode()


def _with_media(media: dict[str, Any]) -> dict[str, Any]:
    document = read_document(EXAMPLES / "onboardly.yaml")
    document["paths"]["/applicants/{applicant_id}/checks/{check_id}/download"]["get"]["responses"][
        "200"
    ]["content"] = {"application/pdf": media}
    return document


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ({"example": {"not": "text"}}, NOT_TEXT.format(code=200, media="application/pdf")),
        (
            {"examples": {"r": {"externalValue": "https://files.example/r.pdf"}}},
            NOT_RELATIVE.format(
                code=200, media="application/pdf", value="https://files.example/r.pdf"
            ),
        ),
        (
            {"examples": {"r": {"externalValue": "/etc/hostname"}}},
            NOT_RELATIVE.format(code=200, media="application/pdf", value="/etc/hostname"),
        ),
    ],
)
def test_files_wrong_declarations_are_refused_at_load(media: dict[str, Any], message: str) -> None:
    source = str(EXAMPLES / "onboardly.yaml")
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", _with_media(media), source=source)
    assert message in str(raised.value)
    assert f"{source}#{DOWNLOAD}" in str(raised.value)


def test_files_missing_external_value_is_refused_at_load(tmp_path: Path) -> None:
    source = tmp_path / "onboardly.yaml"
    shutil.copy(EXAMPLES / "onboardly.yaml", source)
    document = _with_media({"examples": {"r": {"externalValue": "files/gone.pdf"}}})
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", document, source=str(source))
    path = tmp_path / "files" / "gone.pdf"
    expected = MISSING_FILE.format(
        code=200, media="application/pdf", value="files/gone.pdf", path=path
    )
    assert expected in str(raised.value)


def test_files_example_text_is_sent(tmp_path: Path) -> None:
    (tmp_path / "onboardly.yaml").write_text("")
    document = _with_media({"example": "%PDF-1.4 declared\n%%EOF\n"})
    spec = build_spec("onboardly", document, source=str(tmp_path / "onboardly.yaml"))
    (declared,) = spec.operations["downloadCheck"].files
    assert declared.content == b"%PDF-1.4 declared\n%%EOF\n"
