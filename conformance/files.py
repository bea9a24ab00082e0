"""Operations that answer a file (`kycspec.media`: a PDF report, a document image).

A request to one sends the `Accept` its success response declares (RFC 9110 section 12.5.1), and
a success answer in one of those media types must be a well-formed file of it: it starts with
the type's signature where the type has one (`SIGNATURES`; a PDF also ends with `%%EOF`, ISO
32000-1 section 7.5.5), and is at least as long as the schema's `minLength` otherwise. That the
`Content-Type` is a declared one is `content_type_conformance`'s to judge.
"""

from kycspec.model import Operation

# The magic numbers of the file types a KYC API sends (each format's own specification).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),  # ISO 32000-1 section 7.5.2
    "image/png": (b"\x89PNG\r\n\x1a\n",),  # RFC 2083 section 3.1
    "image/jpeg": (b"\xff\xd8\xff",),  # ITU T.81 (SOI, then a marker)
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/zip": (b"PK\x03\x04",),
}
PDF_END = b"%%EOF"
PDF_TAIL = 1024  # readers look for %%EOF this far from the end
NO_SIGNATURE = "the {media} body does not start with {signature!r} (it starts with {start!r})"
NO_PDF_END = "the application/pdf body does not end with %%EOF (ISO 32000-1 section 7.5.5)"
TOO_SHORT = "the {media} body has {size} bytes; the schema's minLength is {low}"


def accept_for(op: Operation) -> dict[str, str]:
    """The `Accept` field a request to an operation that answers files sends: the media types
    its success response declares, in declared order."""
    if not op.files:
        return {}
    return {"Accept": ", ".join(op.success_media_types)}


def file_problem(op: Operation, content_type: str | None, body: bytes) -> str | None:
    """Why a success answer of `content_type` is not a well-formed file of a type the
    operation declares, or None (a JSON or an undeclared type is judged elsewhere)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    declared = next((f for f in op.files if f.media_type.lower() == media), None)
    if declared is None:
        return None
    signatures = SIGNATURES.get(media)
    if signatures is not None:
        if not body.startswith(signatures):
            return NO_SIGNATURE.format(media=media, signature=signatures[0], start=body[:8])
        if media == "application/pdf" and PDF_END not in body[-PDF_TAIL:]:
            return NO_PDF_END
        return None
    low = int((declared.schema or {}).get("minLength", 0))
    if len(body) < low:
        return TOO_SHORT.format(media=media, size=len(body), low=low)
    return None
