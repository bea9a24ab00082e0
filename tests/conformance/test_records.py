"""Records inside documented envelopes: one reading of `x-operation.response` for every layer."""

from conformance.layers.lifecycle_scenario import record_schema
from conformance.records import envelope_path, value_in
from kycspec.loader import load_all

SPECS = load_all()


def test_records_envelope_path_follows_the_template() -> None:
    finx, finhub = SPECS["finx"].operations, SPECS["finhub"].operations
    assert envelope_path(finx["retrieveCustomerVerification"]) == ()
    assert envelope_path(finx["listCustomerVerifications"], "$items") == ("data",)
    assert envelope_path(finx["listCustomerVerifications"], "$has_more") == ("has_more",)
    assert envelope_path(finhub["getVerificationStatus"]) == ("data",)
    assert envelope_path(finx["retrieveCustomerVerification"], "$items") is None


def test_records_value_in_tells_absent_from_undeclared() -> None:
    op = SPECS["finx"].operations["listCustomerVerifications"]
    assert value_in(op, {"has_more": True, "data": []}, "$has_more") == (True, True)
    assert value_in(op, {"data": []}, "$has_more") == (True, None)
    assert value_in(op, "not an object", "$items") == (True, None)
    assert value_in(op, {"next": "x"}, "$next_cursor") == (False, None)


def test_records_record_schema_is_the_schema_at_the_marker() -> None:
    op = SPECS["finhub"].operations["getVerificationStatus"]
    schema = op.success_schema or {}
    assert record_schema(op, "$record") == schema["properties"]["data"]
