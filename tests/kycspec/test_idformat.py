"""Id formats: generating ids and the patterns that match them."""

import os
import re
import uuid

import pytest

from kycspec.idformat import generate_id, id_pattern


@pytest.mark.parametrize(
    ("fmt", "alphabet", "size"),
    [
        ("{alnum:16}", r"[A-Za-z0-9]", 16),
        ("ver_{lower:12}", r"[a-z0-9]", 12),
        ("prv_{hex:16}", r"[0-9a-f]", 16),
        ("doc_{lower:1}", r"[a-z0-9]", 1),
    ],
)
def test_generate_id_matches_id_pattern(fmt: str, alphabet: str, size: int) -> None:
    pattern = id_pattern(fmt)
    prefix = fmt.partition("{")[0]
    for _ in range(50):
        value = generate_id(fmt)
        assert pattern.match(value), value
        assert value.startswith(prefix)
        assert re.fullmatch(f"{alphabet}{{{size}}}", value[len(prefix) :])


def test_generate_id_uuid_is_a_uuid4() -> None:
    value = generate_id("{uuid}")
    assert id_pattern("{uuid}").match(value)
    assert uuid.UUID(value).version == 4


def test_generate_id_several_placeholders() -> None:
    fmt = "cus_{hex:4}-{uuid}/{alnum:3}"
    value = generate_id(fmt)
    assert id_pattern(fmt).match(value)


def test_generate_id_is_random() -> None:
    values = {generate_id("{alnum:16}") for _ in range(20)}
    assert len(values) == 20


def test_generate_id_alnum_uses_both_cases_and_digits() -> None:
    text = "".join(generate_id("{alnum:64}") for _ in range(20))
    assert re.search("[A-Z]", text)
    assert re.search("[a-z]", text)
    assert re.search("[0-9]", text)


def test_generate_id_literal_format_is_copied() -> None:
    assert generate_id("fixed") == "fixed"
    assert id_pattern("fixed").match("fixed")


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("ver_{lower:12}", "ver_abc123def45"),  # too short
        ("ver_{lower:12}", "ver_abc123def4567"),  # too long
        ("ver_{lower:12}", "ver_ABC123DEF456"),  # upper case
        ("ver_{lower:12}", "doc_abc123def456"),  # other prefix
        ("prv_{hex:16}", "prv_4f9a2c7e1b3d5fzz"),  # not hex
        ("{alnum:16}", "xgQQXg3hrtjh7Av_"),  # not alphanumeric
        ("{uuid}", "8d3e5f7a1b2c4d6e8f9a0b1c2d3e4f5a"),  # no dashes
        ("{uuid}", "8D3E5F7A-1B2C-4D6E-8F9A-0B1C2D3E4F5A"),  # upper case
    ],
)
def test_id_pattern_rejects_other_ids(fmt: str, value: str) -> None:
    assert id_pattern(fmt).match(value) is None


def test_id_pattern_matches_documented_ids() -> None:
    assert id_pattern("{alnum:16}").match("xgQQXg3hrtjh7AvZ")
    assert id_pattern("ver_{lower:12}").match("ver_abc123def456")
    assert id_pattern("{uuid}").match("8d3e5f7a-1b2c-4d6e-8f9a-0b1c2d3e4f5a")


def test_id_pattern_escapes_literal_text() -> None:
    pattern = id_pattern("a.b+{hex:2}")
    assert pattern.match("a.b+0f")
    assert pattern.match("axb+0f") is None
    assert pattern.match("a.bb+0f") is None


@pytest.mark.parametrize(
    "fmt",
    ["{uuid:8}", "{hex}", "{lower}", "{alnum}", "ver_{lower:0}", "ver_{lowr:12}", "{alpha:4}"],
)
def test_generate_id_bad_placeholder_raises(fmt: str) -> None:
    with pytest.raises(ValueError):
        generate_id(fmt)
    with pytest.raises(ValueError):
        id_pattern(fmt)


def test_a_forked_process_draws_other_ids_than_its_parent() -> None:
    """Forked workers (`serve --workers N` on Granian) share a store: the same draws in two of
    them would give two records one id."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write, generate_id("{alnum:24}").encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    assert len(child) == 24
    assert child != generate_id("{alnum:24}")
