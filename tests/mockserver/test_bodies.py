"""Bodies and parameters are decoded once, strictly (mockserver.bodies, the URI parser)."""

import gzip
import zlib

import orjson
import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.bodies import MAX_JSON_DEPTH, decode_content, load_json, parse_urlencoded
from mockserver.edge import DEFAULT_MAX_BODY_BYTES
from tests.mockserver.conftest import (
    CONTROL,
    FINHUB,
    FINX,
    KONTORION,
    bearer,
    finhub_headers,
    finhub_initiate,
    kontorion_body,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
FINX_FORM = b"customer_id=WAz8eIbvDR60rouK&verification_status=pending&document_number=1"


def _finx_message(response: object) -> object:
    return response.json()["error"]["message"]  # type: ignore[attr-defined]


def _records(client: TestClient, sandbox: str) -> list[object]:
    response = client.get(f"{CONTROL}/snapshot", params={"sandbox": sandbox})
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


# Failing input 3: curl -d sends raw UTF-8, which Starlette's form parser read as Latin-1.
def test_bodies_form_is_utf8(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_utf", **FORM),
        content=FINX_FORM + "&document_type=pièce_identité".encode(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["document_type"] == "pièce_identité"
    encoded = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_utf", **FORM),
        content=FINX_FORM + b"&document_type=pi%C3%A8ce+identit%C3%A9",
    )
    assert encoded.json()["document_type"] == "pièce identité"


def test_bodies_form_not_utf8_is_400_without_echo(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc", headers=bearer("test_utf", **FORM), content=FINX_FORM + b"&\xff\xfe=x"
    )
    assert response.status_code == 400
    assert _finx_message(response) == errors.BODY_NOT_UTF8
    assert _records(client, "test_utf") == []


def test_bodies_control_characters_are_shown_escaped(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc", headers=bearer("test_utf", **FORM), content=b"\x01\x02=\x03"
    )
    assert response.status_code == 400
    message = _finx_message(response)
    assert isinstance(message, str)
    assert message.isprintable()
    assert "\\x01\\x02" in message


def test_bodies_parse_urlencoded_follows_whatwg() -> None:
    assert parse_urlencoded(b"a=1&&b=x+y%2Bz&a=2&c") == {"a": ["1", "2"], "b": ["x y+z"], "c": [""]}
    with pytest.raises(errors.InvalidRequest):
        parse_urlencoded(b"a=%C3")


# Failing input 2: a repeated scalar was joined with a comma (form) or the last one used (query).
def test_bodies_repeated_form_field_is_400_naming_it(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_rep", **FORM),
        content=FINX_FORM.replace(b"document_number=1", b"")
        + b"document_type=x&document_number=111111111&document_number=222222222",
    )
    assert response.status_code == 400
    assert _finx_message(response) == errors.PARAMETER_REPEATED.format(name="'document_number'")
    assert _records(client, "test_rep") == []


def test_bodies_repeated_query_parameter_is_400_naming_it(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc?limit=1&limit=2", headers=bearer("test_rep"))
    assert response.status_code == 400
    assert _finx_message(response) == errors.PARAMETER_REPEATED.format(name="'limit'")


def test_bodies_query_not_utf8_is_400(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc?limit=%FF", headers=bearer("test_rep"))
    assert response.status_code == 400
    assert _finx_message(response) == errors.QUERY_NOT_UTF8


# Failing input 4: a lone surrogate was stored (500), and broke every later list.
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"check_type": "\\ud800"}', errors.JSON_LONE_SURROGATE),
        (b'{"check_type\\udfff": "x"}', errors.JSON_LONE_SURROGATE),
        (b"\xef\xbb\xbf{}", errors.JSON_BOM),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), None),
        (b"[" * 100_000, None),
        (
            b'{"n": 9223372036854775808}',
            errors.JSON_NUMBER_RANGE.format(number="'9223372036854775808'"),
        ),
        (b'{"n": 1e400}', errors.JSON_NUMBER_RANGE.format(number="'1e400'")),
        (b'{"n": NaN}', errors.BODY_NOT_JSON),
        (b'{"a": 1, "a": 2}', errors.JSON_DUPLICATE_MEMBER.format(name="'a'")),
        (b'{"a": "\xff"}', errors.BODY_NOT_UTF8),
    ],
)
def test_bodies_json_intake_refuses(body: bytes, message: str | None) -> None:
    with pytest.raises(errors.InvalidRequest) as refused:
        load_json(body)
    expected = message or errors.JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH)
    assert refused.value.detail == expected


def test_bodies_json_intake_accepts_the_limits() -> None:
    nested = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json(nested) is not None
    assert load_json(b'{"n": -9223372036854775808, "x": 1.5e308, "s": "\\ud83d\\ude00"}') == {
        "n": -(2**63),
        "x": 1.5e308,
        "s": "\U0001f600",
    }
    assert load_json(b"  ") is None


def test_bodies_json_long_finite_numbers_are_read() -> None:
    digits = "1" * 300
    assert load_json(f"[0.{digits}, 1{'0' * 300}.0]".encode()) == [float(f"0.{digits}"), 1e300]


def test_bodies_lone_surrogate_is_400_and_stores_nothing(client: TestClient) -> None:
    body = orjson.dumps(kontorion_body()).replace(b'"document"', b'"\\ud800"')
    response = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_sur", **JSON), content=body
    )
    assert response.status_code == 400
    assert response.json()["detail"] == errors.JSON_LONE_SURROGATE
    assert _records(client, "test_sur") == []
    listed = client.get(f"{KONTORION}/customer-verifications", headers=bearer("test_sur"))
    assert listed.status_code == 200


# Failing input 7: a gzipped body was read as it came (400 "not valid UTF-8", binary echoed).
@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate"])
def test_bodies_content_encoding_is_decoded(client: TestClient, coding: str) -> None:
    raw = orjson.dumps(kontorion_body())
    data = gzip.compress(raw) if "gzip" in coding else zlib.compress(raw)
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_gz", **JSON, **{"Content-Encoding": coding}),
        content=data,
    )
    assert response.status_code == 201, response.text


def test_bodies_gzipped_form_is_decoded(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_gz", **FORM, **{"Content-Encoding": "gzip"}),
        content=gzip.compress(FINX_FORM + b"&document_type=passport"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["document_type"] == "passport"


def test_bodies_unknown_content_encoding_is_415(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_gz", **FORM, **{"Content-Encoding": "br"}),
        content=b"\x8b\x00binary",
    )
    assert response.status_code == 415
    assert _finx_message(response) == errors.CODING_UNSUPPORTED.format(
        coding="'br'", known="gzip, x-gzip, deflate, identity"
    )
    assert response.headers["accept-encoding"] == "gzip, deflate"


def test_bodies_corrupt_gzip_is_400(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_gz", **FORM, **{"Content-Encoding": "gzip"}),
        content=b"\x1f\x8b not gzip at all",
    )
    assert response.status_code == 400
    assert _finx_message(response) == errors.CODING_CORRUPT.format(coding="gzip")


def test_bodies_compression_bomb_is_413(client: TestClient) -> None:
    bomb = gzip.compress(b"a" * (DEFAULT_MAX_BODY_BYTES * 4))
    assert len(bomb) < DEFAULT_MAX_BODY_BYTES
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_gz", **FORM, **{"Content-Encoding": "gzip"}),
        content=bomb,
    )
    assert response.status_code == 413
    assert _finx_message(response) == errors.BODY_TOO_LARGE.format(limit=DEFAULT_MAX_BODY_BYTES)


def test_bodies_decode_content_undoes_codings_in_reverse_order() -> None:
    twice = gzip.compress(zlib.compress(b"x"))
    assert decode_content(twice, ["deflate", "gzip"], 10) == b"x"
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = raw_deflate.compress(b"hello") + raw_deflate.flush()
    assert decode_content(data, ["Deflate"], 10) == b"hello"


def test_bodies_path_not_utf8_is_400(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc/%FF%FE", headers=bearer("test_rep"))
    assert response.status_code == 400
    assert _finx_message(response) == errors.PATH_NOT_UTF8


def test_bodies_long_values_are_shown_cut(client: TestClient) -> None:
    record_id = "x" * 5000
    response = client.get(f"{FINX}/kyc/{record_id}", headers=bearer("test_rep"))
    assert response.status_code in (400, 404)
    message = _finx_message(response)
    assert isinstance(message, str)
    assert len(message) <= errors.DETAIL_CHARS


def test_bodies_control_plane_json_intake_is_the_same(client: TestClient) -> None:
    entry = {"sandbox": "s", "api": "finx", "resource": "kyc_record", "record": {"x": "?"}}
    body = orjson.dumps({"records": [entry]}).replace(b'"?"', b'"\\ud800"')
    response = client.post(f"{CONTROL}/fixtures", headers=JSON, content=body)
    assert response.status_code == 400
    assert response.json()["detail"] == errors.JSON_LONE_SURROGATE


def test_bodies_multipart_without_content_type_is_415(client: TestClient) -> None:
    verification = finhub_initiate(client, "test_mp", "cust_mp")
    part = (
        b'--XX\r\nContent-Disposition: form-data; name="documentType"\r\n\r\n'
        b"GOVERNMENT_ID\r\n--XX--\r\n"
    )
    response = client.post(
        f"{FINHUB}/verifications/{verification}/documents",
        headers=finhub_headers("test_mp"),
        content=part,
    )
    assert response.status_code == 415
    assert response.json()["error"]["message"] == errors.MEDIA_TYPE_MISSING
