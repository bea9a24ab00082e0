"""Any OpenAPI document a user brings, as the one OpenAPI 3.0 document the rest of the code reads.

`read_openapi(path)`: parse YAML or JSON (`kycspec.reading`), bundle references to other files
(`kycspec.bundle`), convert OpenAPI 3.1 (`kycspec.openapi31`) and Swagger 2.0 (the
`spec2openapi` library) to 3.0.3, then validate the result against the OpenAPI 3.0 schema. Every
failure is a `DocumentError` naming the file, the JSON pointer and what is wrong.
"""

import re
from pathlib import Path
from typing import NamedTuple

from openapi_spec_validator import OpenAPIV30SpecValidator

from kycspec.bundle import bundle
from kycspec.openapi31 import to_openapi30
from kycspec.problems import DocumentError, pointer
from kycspec.reading import SUFFIXES, ParseError, parse_file
from kycspec.types import JSONObject

NOT_AN_OBJECT = "an OpenAPI document is a mapping at the top level, not {kind}"
NO_VERSION = (
    "not an OpenAPI document: no `openapi` (3.0.x, 3.1.x) or `swagger` (2.0) field "
    "(files that documents only reference belong in a subdirectory)"
)
UNSUPPORTED_VERSION = "OpenAPI version {version!r} is not supported: 3.0.x, 3.1.x or Swagger 2.0"
SWAGGER_FAILED = "Swagger 2.0 conversion to OpenAPI 3.0 failed: {error}"
INVALID = "not valid OpenAPI 3.0{converted}: {message}"
CONVERTED_FROM = {"3.1": " (converted from 3.1)", "2.0": " (converted from Swagger 2.0)"}
_OPENAPI_30 = re.compile(r"^3\.0\.\d+(-.+)?$")
_OPENAPI_31 = re.compile(r"^3\.1\.\d+(-.+)?$")


class OpenApiDocument(NamedTuple):
    """A document as bundled, valid OpenAPI 3.0, and the version it was written in."""

    content: JSONObject
    source_version: str  # "2.0", "3.0" or "3.1"


def read_openapi(path: Path, *, allow_remote_refs: bool = False) -> OpenApiDocument:
    """The document in the file as bundled, valid OpenAPI 3.0.3 (`DocumentError` otherwise)."""
    try:
        raw = parse_file(path)
    except ParseError as exc:
        raise DocumentError(path, "", str(exc)) from None
    if not isinstance(raw, dict):
        raise DocumentError(path, "", NOT_AN_OBJECT.format(kind=type(raw).__name__))
    document: JSONObject = bundle(raw, path, allow_remote_refs=allow_remote_refs)
    version = _version(document, path)
    if version == "2.0":
        document = _from_swagger(document, path)
    elif version == "3.1":
        document = to_openapi30(document, str(path))
    _validate(document, path, CONVERTED_FROM.get(version, ""))
    return OpenApiDocument(document, version)


def _version(document: JSONObject, path: Path) -> str:
    if "swagger" in document:
        if str(document["swagger"]) != "2.0":
            version = document["swagger"]
            raise DocumentError(path, "/swagger", UNSUPPORTED_VERSION.format(version=version))
        return "2.0"
    if "openapi" not in document:
        raise DocumentError(path, "", NO_VERSION)
    version = str(document["openapi"])
    if _OPENAPI_30.match(version):
        return "3.0"
    if _OPENAPI_31.match(version):
        return "3.1"
    raise DocumentError(path, "/openapi", UNSUPPORTED_VERSION.format(version=version))


def _from_swagger(document: JSONObject, path: Path) -> JSONObject:
    from spec2openapi import ConversionError, convert_swagger  # noqa: PLC0415 (only for 2.0)

    try:
        converted: JSONObject = convert_swagger(document, openapi_version="3.0")
    except ConversionError as exc:
        raise DocumentError(path, "", SWAGGER_FAILED.format(error=exc)) from None
    converted.pop("x-s2o", None)  # the converter's own audit trail, not part of the API
    return converted


def _validate(document: JSONObject, path: Path, converted: str) -> None:
    found = openapi_problem(document, converted)
    if found is not None:
        raise DocumentError(path, *found)


def openapi_problem(document: JSONObject, converted: str = "") -> tuple[str, str] | None:
    """The first violation of the OpenAPI 3.0 schema as (JSON pointer, message), or None."""
    error = next(OpenAPIV30SpecValidator(document).iter_errors(), None)
    if error is None:
        return None
    first_line = str(error.message).split("\n", 1)[0]
    return pointer(*error.absolute_path), INVALID.format(
        converted=converted, message=_short(first_line)
    )


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def is_document_file(path: Path) -> bool:
    """Whether the file is one a specs directory serves (`.yaml`, `.yml`, `.json`)."""
    return path.is_file() and path.suffix in SUFFIXES
