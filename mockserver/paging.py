"""The mock's pagers: one per moving `x-page` marker (`kycspec.paging.PAGING_STYLES`).

Every pager works through `Collection.page` (newest first, optionally older than a sequence
number), so any store backend that pages that way pages every style.
"""

import base64
import binascii
import sys
from collections.abc import Callable
from dataclasses import dataclass

from kycspec.registry import Registry
from kycspec.types import JSONObject
from mockserver import errors
from mockserver.store import Collection, Predicate


@dataclass(frozen=True)
class Page:
    """One page of a list: newest first, whether more follow, the cursor to them, its number."""

    items: list[JSONObject]
    has_more: bool
    next_cursor: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class PageRequest:
    """What a pager needs: the records, the filters, the page size and the marker's value."""

    collection: Collection
    predicates: list[Predicate]
    limit: int
    value: str | None  # the marker's query value; None for the first page


Pager = Callable[[PageRequest], Page]
"""A pager answers one marker. An implementer must:

- register under the marker's name in `PAGERS` (and declare it in `PAGING_STYLES`);
- answer the first page when `value` is None;
- refuse a malformed value with `errors.InvalidRequest` (a bad cursor, a page number below 1)
  and a well-formed id that names no record with `errors.NotFound`, never a 500.
"""
PAGERS: Registry[Pager] = Registry("pager")


CURSOR_BYTES = 8
"""A cursor is a position in the list (the insertion sequence number of the page's last record)
as 8 big-endian bytes in unpadded base64url: 11 characters, the grammar the specs declare."""
CURSOR_PATTERN = "^[A-Za-z0-9_-]{11}$"
"""The schema pattern of every `x-page: cursor` parameter (specs/README.md)."""


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(seq.to_bytes(CURSOR_BYTES, "big")).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor names; any well-formed cursor is one (a keyset position), even one
    this server never issued: the page holds the records older than it.

    Raises `InvalidRequest` (400) when the cursor does not decode to 8 bytes.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != CURSOR_BYTES:
        raise errors.InvalidRequest(errors.BAD_CURSOR.format(cursor=cursor))
    return int.from_bytes(raw, "big")


def _anchor(request: PageRequest) -> int | None:
    if request.value is None:
        return None
    seq = request.collection.seq(request.value)
    if seq is None:  # a well-formed id that names no record, as for any id
        raise errors.NotFound(errors.UNKNOWN_PAGE_START.format(id=request.value))
    return seq


def _skipping(request: PageRequest, skip: int, number: int | None = None) -> Page:
    items, more = request.collection.page(request.predicates, skip + request.limit)
    return Page(items[skip:], more, number=number)


@PAGERS.decorator()
def first(request: PageRequest) -> Page:
    """A list without a moving marker: the newest records only."""
    items, more = request.collection.page(request.predicates, request.limit)
    return Page(items, more)


@PAGERS.decorator()
def starting_after(request: PageRequest) -> Page:
    items, more = request.collection.page(request.predicates, request.limit, _anchor(request))
    return Page(items, more)


@PAGERS.decorator()
def cursor(request: PageRequest) -> Page:
    before = None if request.value is None else decode_cursor(request.value)
    items, more = request.collection.page(request.predicates, request.limit, before)
    last = request.collection.seq(items[-1][request.collection.id_field]) if items else None
    return Page(items, more, encode_cursor(last) if more and last is not None else None)


@PAGERS.decorator()
def ending_before(request: PageRequest) -> Page:
    """The `limit` records just newer than the anchor, newest first (Stripe's `ending_before`)."""
    anchor = _anchor(request)
    if anchor is None:
        return first(request)
    collection = request.collection
    every, _ = collection.page(request.predicates, sys.maxsize)
    newer = [r for r in every if (collection.seq(r[collection.id_field]) or -1) > anchor]
    return Page(newer[-request.limit :] if request.limit else [], len(newer) > request.limit)


def _number(request: PageRequest, what: str, low: int) -> int:
    try:
        number = int(request.value) if request.value is not None else low
    except ValueError:
        number = low - 1
    if number < low:
        raise errors.InvalidRequest(
            errors.BAD_PAGE_NUMBER.format(what=what, value=request.value, low=low)
        )
    return number


@PAGERS.decorator()
def page(request: PageRequest) -> Page:
    """Page `n` (from 1) of `limit` records: Onfido's `page` and `per_page`."""
    number = _number(request, "page", 1)
    return _skipping(request, (number - 1) * request.limit, number)


@PAGERS.decorator()
def offset(request: PageRequest) -> Page:
    return _skipping(request, _number(request, "offset", 0))


def count(collection: Collection, predicates: list[Predicate]) -> int:
    """How many records match: a list's `$total` (Onfido's `total_count`)."""
    return len(collection.page(predicates, sys.maxsize)[0])
