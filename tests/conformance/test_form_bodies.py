"""Form bodies end to end (tests/data/formencoded): the suite sends each property as its
Encoding Object declares, and judges a negative case by what the form made of it; the mock
serving the spec is conformant."""

from pathlib import Path

import httpx
import pytest

from conformance.requests import MULTIPART_MEDIA, body_kwargs
from conformance.results import Verdict
from conformance.runner import run
from conformance.sentforms import valid_as_sent
from conformance.target import Target
from kycspec.formfields import FORM_MEDIA
from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.conftest import core_settings

SPECS_DIR = Path(__file__).resolve().parents[1] / "data" / "formencoded"
SPEC = load_all(SPECS_DIR)["formencoded"]
CREATE = SPEC.operations["createCard"]


def _sent(op_id: str, media: str, payload: dict[str, object]) -> bytes:
    request = httpx.Request(
        "POST", "http://form.invalid/", **body_kwargs(SPEC.operations[op_id], media, payload)
    )
    return request.read()


def test_a_form_body_follows_the_declared_encoding() -> None:
    payload = {
        "holder": "h",
        "active": True,
        "rate": 1.5,
        "tags": ["a", "b"],
        "metadata": {"a[b": "1", "c]": "2"},
        "limits": {"daily": 5, "online": False},
    }
    assert _sent("createCard", FORM_MEDIA, payload) == (
        b"holder=h&active=true&rate=1.5&tags=a&tags=b"
        b"&metadata%5Ba%5Bb%5D=1&metadata%5Bc%5D%5D=2"
        b"&limits%5Bdaily%5D=5&limits%5Bonline%5D=false"
    )


def test_an_empty_object_in_a_form_sends_no_field() -> None:
    assert _sent("updateCard", FORM_MEDIA, {"metadata": {}, "active": False}) == b"active=false"


def test_a_multipart_object_part_is_json() -> None:
    kwargs = body_kwargs(CREATE, MULTIPART_MEDIA, {"limits": {"daily": 5}, "active": True})
    assert kwargs["data"] == {"limits": '{"daily": 5}', "active": "true"}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (b"holder=h&metadata%5Bk%5D=1.5", True),  # a number for a text value is text on the wire
        (b"holder=h&rate=2&active=true&limits%5Bdaily%5D=3", True),
        (b"holder=h&limits%5Bdaily%5D=many", False),
        (b"holder=h&rate=11", False),
        (b"holder=h&other=1", False),
        (b"metadata%5Bk%5D=1", False),  # holder is required
        (b"holder=h&holder=i", False),
        (b"holder=h&limits%5Bdaily%5D=1&limits=2", False),  # fields that spell no value
    ],
)
def test_a_negative_case_is_judged_by_the_value_the_form_spells(body: bytes, valid: bool) -> None:
    encoding = CREATE.request_encodings[FORM_MEDIA]
    assert valid_as_sent(CREATE.request_schema, encoding, FORM_MEDIA, body) is valid
    assert valid_as_sent(CREATE.request_schema, encoding, "application/json", body) is False


def test_the_form_encoded_spec_is_conformant_under_the_suite() -> None:
    with serve_in_thread(create_app(SPECS_DIR, validate_responses=True)) as url:
        target = Target(
            SPEC,
            f"{url}/formencoded{SPEC.base_path}",
            "test_conf",
            token_b="test_other",
            admin_token="admin_conf",
            control_url=f"{url}/__mock",
            magic=True,
        )
        settings = core_settings()
        results = [
            r
            for r in run(target, settings, lambda e: None)
            if r.requirement.layer in settings.profile.layers
        ]
    assert results
    assert [
        (r.requirement.id, r.verdict.value, r.message)
        for r in results
        if r.verdict is not Verdict.PASSED
    ] == []
