"""Success bodies that are files: the non-JSON media types of an operation's success response.

A download (Onfido's check report as `application/pdf`, a document image as `image/png`) is
declared as plain OpenAPI `content` of the success response, with a media type that is not JSON
(`application/json` or a `+json` suffix, RFC 6839). For each such media type the mock answers
the file the declaration gives, in this order:

- the media object's `example` (a string: its UTF-8 bytes), or its first `examples` entry's
  `value`, or that entry's `externalValue`: a file path relative to the spec file (OpenAPI
  3.0.3, Example Object), read when the spec loads;
- else a stand-in made by the mock (`mockserver.files`): a valid file of the type.

An `externalValue` that is not a relative path to a readable file, and an example that is not
a string, are refused when the spec loads.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kycspec.types import JSONObject

NOT_TEXT = "response {code} {media}: a file's `example` is a string (its UTF-8 bytes)"
NOT_RELATIVE = (
    "response {code} {media}: externalValue {value!r} is not a relative path to a file "
    "beside the spec (URLs are not fetched)"
)
MISSING_FILE = "response {code} {media}: externalValue {value!r}: no such file ({path})"


@dataclass(frozen=True)
class FileBody:
    """One media type a success response sends as a file, and its declared content (None: the
    mock makes a stand-in)."""

    media_type: str
    content: bytes | None
    schema: JSONObject | None


def is_json(media_type: str) -> bool:
    """`application/json` and the `+json` structured syntax suffix (RFC 6839 section 3.1)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


def compile_files(
    responses: Mapping[str, Any], success: int, base: Path | None
) -> tuple[FileBody, ...]:
    """The file media types of the success response (refs inlined), in declared order.

    `base` is the directory of the spec file, for `externalValue` (None: the spec has no
    file, and an `externalValue` is refused). Raises ValueError (`NOT_TEXT`, `NOT_RELATIVE`,
    `MISSING_FILE`).
    """
    content = (responses.get(str(success)) or {}).get("content") or {}
    return tuple(
        FileBody(media, _declared(success, media, declared, base), declared.get("schema"))
        for media, declared in content.items()
        if not is_json(media)
    )


def _declared(
    code: int, media: str, declared: Mapping[str, Any], base: Path | None
) -> bytes | None:
    if "example" in declared:
        return _text(code, media, declared["example"])
    for example in (declared.get("examples") or {}).values():
        if "value" in example:
            return _text(code, media, example["value"])
        if "externalValue" in example:
            return _external(code, media, example["externalValue"], base)
    return None


def _text(code: int, media: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError(NOT_TEXT.format(code=code, media=media))
    return value.encode()


def _external(code: int, media: str, value: Any, base: Path | None) -> bytes:
    relative = Path(str(value))
    if base is None or "://" in str(value) or relative.is_absolute():
        raise ValueError(NOT_RELATIVE.format(code=code, media=media, value=value))
    path = base / relative
    if not path.is_file():
        raise ValueError(MISSING_FILE.format(code=code, media=media, value=value, path=path))
    return path.read_bytes()
