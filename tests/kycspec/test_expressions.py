"""Values and conditions: the expression language of the `x-` extensions."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kycspec.expressions import (
    Context,
    compile_condition,
    compile_value,
    format_time,
    parse_time,
    split_path,
)
from kycspec.idformat import id_pattern

NOW = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
NOW_UNIX = 1705314600


def _ctx(time_format: str = "rfc3339", **values: Any) -> Context:
    return Context(now=NOW, time_format=time_format, values=values)


def test_compile_value_now_is_the_clock_in_rfc3339() -> None:
    assert compile_value("$now")(_ctx()) == "2024-01-15T10:30:00Z"


def test_compile_value_now_is_the_clock_in_unix_seconds() -> None:
    value = compile_value("$now")(_ctx("unix"))
    assert value == NOW_UNIX
    assert isinstance(value, int)


@pytest.mark.parametrize(
    ("expression", "delta"),
    [
        ("$now+7d", timedelta(days=7)),
        ("$now+60s", timedelta(seconds=60)),
        ("$now+15m", timedelta(minutes=15)),
        ("$now+2h", timedelta(hours=2)),
        ("$now+365d", timedelta(days=365)),
    ],
)
def test_compile_value_now_plus_duration_in_both_formats(expression: str, delta: timedelta) -> None:
    later = NOW + delta
    assert compile_value(expression)(_ctx()) == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert compile_value(expression)(_ctx("unix")) == NOW_UNIX + int(delta.total_seconds())


def test_compile_value_now_follows_the_context_clock() -> None:
    value = compile_value("$now+7d")
    later = Context(now=NOW + timedelta(days=1), time_format="unix")
    assert value(later) - value(_ctx("unix")) == 86400


def test_compile_value_body_reads_nested_fields() -> None:
    ctx = _ctx(body={"a": {"b": "deep"}, "file": {"filename": "id.png", "size": 42}})
    assert compile_value("$body.a.b")(ctx) == "deep"
    assert compile_value("$body.file.size")(ctx) == 42
    assert compile_value("$body.a")(ctx) == {"b": "deep"}


def test_compile_value_body_missing_field_is_none() -> None:
    ctx = _ctx(body={"a": {"b": "deep"}})
    assert compile_value("$body.a.c")(ctx) is None
    assert compile_value("$body.x.y.z")(ctx) is None
    assert compile_value("$body.a")(_ctx()) is None


def test_compile_value_header_is_case_insensitive() -> None:
    ctx = _ctx(header={"X-Tenant-ID": "tenant_cloudvault"})
    assert compile_value("$header.X-Tenant-ID")(ctx) == "tenant_cloudvault"
    assert compile_value("$header.x-tenant-id")(ctx) == "tenant_cloudvault"
    assert compile_value("$header.X-TENANT-ID")(ctx) == "tenant_cloudvault"


def test_compile_value_body_is_case_sensitive() -> None:
    ctx = _ctx(body={"documentType": "PASSPORT"})
    assert compile_value("$body.documenttype")(ctx) is None


def test_compile_value_path_query_and_auth_parameters() -> None:
    ctx = _ctx(path={"id": "abc"}, query={"limit": 5}, auth={"actor": "u-1"})
    assert compile_value("$path.id")(ctx) == "abc"
    assert compile_value("$query.limit")(ctx) == 5
    assert compile_value("$auth.actor")(ctx) == "u-1"


def test_compile_value_id_generates_fresh_ids_of_the_format() -> None:
    value = compile_value("$id:ver_{lower:12}")
    first, second = value(_ctx()), value(_ctx())
    pattern = id_pattern("ver_{lower:12}")
    assert pattern.match(first)
    assert pattern.match(second)
    assert first != second


def test_compile_value_id_with_bad_format_raises_at_compile_time() -> None:
    with pytest.raises(ValueError, match="bad id placeholder"):
        compile_value("$id:ver_{lower}")


@pytest.mark.parametrize(
    ("record", "count"),
    [
        ({"documents": {"A": 1, "B": 2}}, 2),
        ({"documents": ["x", "y", "z"]}, 3),
        ({"documents": {}}, 0),
        ({}, 0),
        ({"documents": "not a collection"}, 0),
    ],
)
def test_compile_value_count_counts_list_or_object_fields(record: Any, count: int) -> None:
    assert compile_value("$count:documents")(_ctx(record=record)) == count


def test_compile_value_compiles_nested_dicts_and_lists() -> None:
    value = compile_value(
        {
            "success": True,
            "data": {"id": "$path.id", "tags": ["$body.tag", "fixed", 3, None]},
            "when": "$now",
        }
    )
    ctx = _ctx(path={"id": "v1"}, body={"tag": "t"})
    assert value(ctx) == {
        "success": True,
        "data": {"id": "v1", "tags": ["t", "fixed", 3, None]},
        "when": "2024-01-15T10:30:00Z",
    }


def test_compile_value_literals_are_returned_as_is() -> None:
    for literal in ("plain", "not $now", 0, 1.5, False, None):
        assert compile_value(literal)(_ctx()) == literal


def test_compile_value_record_and_list_roots() -> None:
    ctx = _ctx(record={"id": "r"}, items=[1, 2], has_more=True, next_cursor=None)
    assert compile_value("$record")(ctx) == {"id": "r"}
    assert compile_value({"data": "$items", "more": "$has_more"})(ctx) == {
        "data": [1, 2],
        "more": True,
    }
    assert compile_value("$next_cursor")(ctx) is None


@pytest.mark.parametrize("expression", ["$bogus", "$bogus.a", "$now+7x", "$now-1d", "$Body.a"])
def test_compile_value_unknown_expression_raises(expression: str) -> None:
    with pytest.raises(ValueError, match="unknown expression"):
        compile_value(expression)


def test_compile_value_unknown_expression_inside_a_dict_raises() -> None:
    with pytest.raises(ValueError, match="unknown expression"):
        compile_value({"data": ["$record", "$nope"]})


def test_compile_condition_plain_value_means_equals() -> None:
    condition = compile_condition({"record.riskLevel": "HIGH"})
    assert condition(_ctx(record={"riskLevel": "HIGH"}))
    assert not condition(_ctx(record={"riskLevel": "MEDIUM"}))


def test_compile_condition_in_tests_membership() -> None:
    condition = compile_condition({"body.status": {"in": ["verified", "failed"]}})
    assert condition(_ctx(body={"status": "failed"}))
    assert not condition(_ctx(body={"status": "pending"}))


def test_compile_condition_prefix_tests_strings() -> None:
    condition = compile_condition({"path.customerId": {"prefix": "cust_high"}})
    assert condition(_ctx(path={"customerId": "cust_high_42"}))
    assert not condition(_ctx(path={"customerId": "cust_low_1"}))
    assert not condition(_ctx(path={"customerId": 17}))


def test_compile_condition_pattern_searches_a_regex() -> None:
    condition = compile_condition({"body.document_number": {"pattern": "^0+$"}})
    assert condition(_ctx(body={"document_number": "000000000"}))
    assert not condition(_ctx(body={"document_number": "000000001"}))
    assert not condition(_ctx(body={"document_number": None}))


def test_compile_condition_nested_body_path() -> None:
    condition = compile_condition({"body.verificationData.documentNumber": "REJECT0000"})
    assert condition(_ctx(body={"verificationData": {"documentNumber": "REJECT0000"}}))
    assert not condition(_ctx(body={"verificationData": {"documentNumber": "AB123456"}}))


def test_compile_condition_header_path_is_case_insensitive() -> None:
    condition = compile_condition({"header.X-Tenant-ID": "t1"})
    assert condition(_ctx(header={"x-tenant-id": "t1"}))


def test_compile_condition_missing_path_does_not_hold() -> None:
    ctx = _ctx(body={})
    assert not compile_condition({"body.a.b": "x"})(ctx)
    assert not compile_condition({"body.a": {"prefix": "x"}})(ctx)
    assert not compile_condition({"body.a": {"in": ["x"]}})(ctx)
    assert not compile_condition({"body.a": {"pattern": "."}})(ctx)
    assert not compile_condition({"record.a": "x"})(_ctx())


def test_compile_condition_requires_every_entry() -> None:
    condition = compile_condition({"body.a": 1, "body.b": {"in": [2, 3]}})
    assert condition(_ctx(body={"a": 1, "b": 3}))
    assert not condition(_ctx(body={"a": 1, "b": 4}))
    assert not condition(_ctx(body={"a": 0, "b": 3}))


def test_compile_condition_empty_always_holds() -> None:
    assert compile_condition({})(_ctx())


def test_compile_condition_unknown_root_raises() -> None:
    with pytest.raises(ValueError, match="unknown path root"):
        compile_condition({"request.a": 1})


def test_compile_condition_equals_compares_an_object() -> None:
    condition = compile_condition({"record.result": {"equals": {"outcome": "clear"}}})
    assert condition(_ctx(record={"result": {"outcome": "clear"}}))
    assert not condition(_ctx(record={"result": {"outcome": "rejected"}}))


def test_compile_condition_unknown_test_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="unknown test 'prefx'"):
        compile_condition({"path.customerId": {"prefx": "cust_high"}})


def test_compile_condition_in_takes_an_expression() -> None:
    condition = compile_condition({"body.documentType": {"in": "$record.requiredDocuments"}})
    required = {"requiredDocuments": ["GOVERNMENT_ID"]}
    assert condition(_ctx(record=required, body={"documentType": "GOVERNMENT_ID"}))
    assert not condition(_ctx(record=required, body={"documentType": "SOURCE_OF_FUNDS"}))
    assert not condition(_ctx(record={}, body={"documentType": "GOVERNMENT_ID"}))


def test_split_path_splits_root_and_keys() -> None:
    assert split_path("body.a.b") == ("body", ("a", "b"))
    assert split_path("record") == ("record", ())


def test_format_time_rfc3339_is_utc_whole_seconds() -> None:
    moment = datetime(2024, 1, 15, 12, 30, 5, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment, "rfc3339") == "2024-01-15T10:30:05Z"


def test_format_time_unix_is_integer_seconds() -> None:
    assert format_time(NOW, "unix") == NOW_UNIX


@pytest.mark.parametrize("fmt", ["unix", "rfc3339"])
def test_format_time_parse_time_round_trip(fmt: str) -> None:
    moment = datetime(2026, 1, 13, 10, 45, 0, tzinfo=UTC)
    text = format_time(moment, fmt)
    assert parse_time(text) == moment
    assert format_time(parse_time(text), fmt) == text


@pytest.mark.parametrize("fmt", ["unix", "rfc3339"])
def test_format_time_parse_time_round_trip_drops_microseconds(fmt: str) -> None:
    moment = datetime(2024, 1, 15, 10, 30, 0, 123_456, tzinfo=UTC)
    assert parse_time(format_time(moment, fmt)) == moment.replace(microsecond=0)


def test_parse_time_accepts_offsets() -> None:
    assert parse_time("2024-01-15T12:30:00+02:00") == NOW
    assert parse_time("2024-01-15T10:30:00Z").tzinfo is not None
    assert parse_time(705103200) == datetime(1992, 5, 5, 22, 0, tzinfo=UTC)
    assert parse_time(float(NOW_UNIX)) == NOW


@pytest.mark.parametrize("bad", [True, "yesterday", ""])
def test_parse_time_rejects_non_timestamps(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_compile_test_in_is_membership_not_a_substring() -> None:
    ctx = Context(now=datetime(2024, 1, 1, tzinfo=UTC), values={"record": {"s": "PENDING_REVIEW"}})
    assert not compile_condition({"body.a": {"in": "$record.s"}})(
        Context(now=ctx.now, values={**ctx.values, "body": {"a": "PENDING"}})
    )
    assert compile_condition({"body.a": {"in": ["PENDING"]}})(
        Context(now=ctx.now, values={"body": {"a": "PENDING"}})
    )


@pytest.mark.parametrize("expression", ["$auth.token", "$auth", "$auth.actor.x"])
def test_compile_value_auth_never_shows_the_key(expression: str) -> None:
    with pytest.raises(ValueError, match="the caller shows only actor, organization"):
        compile_value(expression)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-15t10:30:00z", "2024-01-15T10:30:00Z"),
        ("2024-01-15T10:30:00+05:30", "2024-01-15T05:00:00Z"),
        ("2024-01-15T10:30:00.999999999-00:00", "2024-01-15T10:30:00Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_parse_time_reads_rfc_3339_date_time(text: str, expected: str) -> None:
    assert format_time(parse_time(text), "rfc3339") == expected


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-05:00",  # after the last instant, in UTC
        "0001-01-01T00:00:00+05:00",  # before the first one
        "2024-02-30T00:00:00Z",
        "2024-01-15T10:30:00",  # no offset
        "2024-01-15 10:30:00Z",
        "2024-01-15T10:30:00+24:00",
        "20240115T103000Z",
    ],
)
def test_parse_time_refuses_what_rfc_3339_or_the_range_does_not_allow(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_parse_time_unix_seconds_out_of_range_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_time(10**20)
