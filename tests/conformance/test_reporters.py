"""Format writers: valid documents even for hostile content."""

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from rich.console import Console

from conformance.events import RunFinished
from conformance.preflight import UNREACHABLE
from conformance.reporters.console import ConsoleReporter
from conformance.reporters.html import write_html
from conformance.reporters.json_report import write_json
from conformance.reporters.junit import write_junit
from conformance.reporters.report import Report
from conformance.requirements import build_catalogue
from conformance.results import Exchange, Result, Verdict
from kycspec.loader import load_all

HOSTILE = "<script>alert(1)</script>\x1c\x00 & ünïcode"


def _report() -> Report:
    catalogue = tuple(build_catalogue(load_all()["finx"]))
    exchange = Exchange(
        "GET", "http://x/v1/kyc?q=" + HOSTILE, {"A": HOSTILE}, None, 500, {}, HOSTILE.encode()
    )
    results = (
        Result(catalogue[0], Verdict.FAILED, HOSTILE, (exchange,), 7, 3),
        Result(catalogue[3], Verdict.FAILED, "should", (), 7, 1),
        *(Result(r, Verdict.PASSED, "", (), 7, 1) for r in catalogue[4:]),
    )
    report = Report("finx", "http://x", "core", 7, catalogue, "conformance run --seed 7")
    report.results, report.finished = results, True
    return report


def test_junit_is_valid_xml_with_control_characters() -> None:
    root = ET.fromstring(write_junit(_report()).encode())
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"  # the SHOULD failure does not fail the run


def _counts(suite: ET.Element) -> dict[str, int]:
    cases = list(suite.iter("testcase"))
    return {
        "tests": len(cases),
        **{
            f"{kind}s" if kind != "skipped" else kind: sum(c.find(kind) is not None for c in cases)
            for kind in ("failure", "error", "skipped")
        },
    }


def test_junit_counts_match_the_testcases_when_the_server_is_unreachable() -> None:
    report = Report("finx", "http://x", "core", 7, (), "conformance run --seed 7")
    report.finish(RunFinished("finx", (), 0.1, UNREACHABLE.format(url="http://x", error="down")))
    suite = ET.fromstring(write_junit(report).encode()).find("testsuite")
    assert suite is not None
    counts = _counts(suite)
    assert counts == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    assert {name: int(suite.get(name, "-1")) for name in counts} == counts


def test_junit_counts_match_the_testcases() -> None:
    suite = ET.fromstring(write_junit(_report()).encode()).find("testsuite")
    assert suite is not None
    counts = _counts(suite)
    assert {name: int(suite.get(name, "-1")) for name in counts} == counts


def test_json_report_round_trips() -> None:
    document = json.loads(write_json(_report()))
    assert document["run"]["conformant"] is False
    assert document["results"][0]["exchanges"][0]["curl"].startswith("curl -X GET")


def test_html_is_escaped_and_self_contained() -> None:
    html = write_html(_report())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "FINX-SCHEMA-001" in html and "http://" in html
    assert 'src="' not in html and "<link" not in html


def test_junit_testcase_time_is_the_results_share_of_its_layer() -> None:
    report = _report()
    first = report.results[0]
    report.results = (replace(first, duration_s=1.25), *report.results[1:])
    suite = ET.fromstring(write_junit(report).encode()).find("testsuite")
    assert suite is not None
    times = [case.get("time") for case in suite.iter("testcase")]
    assert times[0] == "1.250" and times[1] == "0.000"


def test_console_wraps_long_messages_without_cutting_them() -> None:
    report = _report()
    words = [f"word{n:03d}" for n in range(60)]
    first = report.results[0]
    report.results = (
        replace(first, message=" ".join(words) + "\nsecond line"),
        *report.results[1:],
    )
    console = Console(width=100, record=True, highlight=False)
    reporter = ConsoleReporter(console)
    reporter.report = report
    reporter.handle_event(RunFinished("finx", report.results, 1.0))
    table = console.export_text().split(f"{first.requirement.id} MUST FAILED")[0]
    assert all(word in table for word in words) and "second line" in table
