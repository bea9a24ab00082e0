"""File answers: the success body of an operation whose response is a file (`kycspec.media`).

The media type is the one the request's `Accept` weighs highest among those the response
declares (RFC 9110 section 12.5.1; the declared order breaks ties, and no `Accept` takes the
first). The body is the declared example, else a stand-in that is a valid file of the type,
naming the record it is about:

| media type | stand-in |
|---|---|
| `application/pdf` | a one-page PDF 1.4 (ISO 32000-1) whose page reads the record's id |
| `image/png` | a 1x1 transparent PNG (RFC 2083) with a `tEXt` chunk `Title` of the id |
| `image/jpeg` | a 1x1 grey baseline JPEG (ITU T.81, JFIF) with a comment of the id |
| `image/gif` | a 1x1 GIF89a |
| `text/csv` | `id` and the id (RFC 4180) |
| `text/*` | a line naming the record |
| anything else | the ASCII text `STAND_IN`, saying it stands in for a file of that type |
"""

import struct
import zlib

from kycspec.media import FileBody
from mockserver.head import preferred

STAND_IN = "stand-in for a {media} file about record {name}\n"
GIF = (  # GIF89a, 1x1, a two-colour table, one white pixel
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def chosen(files: tuple[FileBody, ...], offered: list[str], accept: str | None) -> FileBody | None:
    """The file to send, or None when the preferred media type of `offered` is JSON.

    `offered` are the success response's media types in declared order; a caller has already
    refused (406) an `Accept` none of them meets.
    """
    if not files:
        return None
    best = preferred(accept, offered)
    return next((f for f in files if f.media_type == best), None)


def file_content(file: FileBody, name: str) -> bytes:
    """The declared content of the file, else a stand-in about the record `name`."""
    if file.content is not None:
        return file.content
    return stand_in(file.media_type, name)


def stand_in(media_type: str, name: str) -> bytes:
    """A valid file of the media type (see the module table) about the record `name`."""
    essence = media_type.split(";", 1)[0].strip().lower()
    text = "".join(c for c in name if c.isascii() and c.isprintable())
    if essence == "application/pdf":
        return _pdf(f"Record {text}")
    if essence == "image/png":
        return _png(text)
    if essence == "image/jpeg":
        return _jpeg(text)
    if essence == "image/gif":
        return GIF
    if essence == "text/csv":
        return f"id\r\n{text}\r\n".encode()
    return STAND_IN.format(media=essence, name=text).encode()


def _pdf(line: str) -> bytes:
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(title: str) -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")  # filter 0, one transparent pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", b"Title\x00" + title.encode("latin-1"))
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def _segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data


def _jpeg(comment: str) -> bytes:
    """One 8x8 block of mid grey: every coefficient 0, so one Huffman code (`0`) serves the DC
    difference (category 0) and the AC end of block alike."""
    one_code = bytes([1] + [0] * 15)  # one code of length 1
    return (
        b"\xff\xd8"  # SOI
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")  # APP0 JFIF 1.01
        + _segment(0xFE, comment.encode("latin-1"))  # COM
        + _segment(0xDB, b"\x00" + bytes([1] * 64))  # DQT 0, all ones
        + _segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")  # SOF0 1x1, one component
        + _segment(0xC4, b"\x00" + one_code + b"\x00")  # DHT DC 0: symbol 0 (category 0)
        + _segment(0xC4, b"\x10" + one_code + b"\x00")  # DHT AC 0: symbol 0 (end of block)
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")  # SOS, then the entropy-coded data
        + b"\x3f"  # `0` (DC), `0` (EOB), padded with ones
        + b"\xff\xd9"  # EOI
    )
