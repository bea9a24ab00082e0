"""The JUnit XML report: one testcase per requirement, for a CI's test view.

A MUST failure is a `<failure>`, an ERROR an `<error>`. A SHOULD failure does not fail the run,
so it is reported as `<skipped>` with the reason (CI views would otherwise mark a conformant run
red); the full transcript is in its `<system-out>` either way.
"""

import re
import xml.etree.ElementTree as ET

from conformance.reporters.report import Report
from conformance.results import Result, Verdict

# XML 1.0 cannot carry most control characters, which generated requests often contain.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def transcript(result: Result) -> str:
    """The failure's message, request sequence as curl, responses and seed, as plain text."""
    lines = [result.message, ""]
    for exchange in result.exchanges:
        lines += [exchange.as_curl(), f"  -> {exchange.response_text(1000)}", ""]
    if result.seed is not None:
        lines.append(f"seed: {result.seed}")
    return clean("\n".join(lines).strip() + "\n")


def _testcase(report: Report, result: Result) -> ET.Element:
    requirement = result.requirement
    case = ET.Element(
        "testcase",
        name=f"{requirement.id}: {requirement.statement}",
        classname=f"conformance.{report.api}.{requirement.layer}",
        time=f"{result.duration_s:.3f}",
    )
    first_line = clean(result.message.splitlines()[0] if result.message else "")
    if result.verdict is Verdict.FAILED and requirement.level == "MUST":
        failure = ET.SubElement(case, "failure", message=first_line, type="MUST")
        failure.text = transcript(result)
    elif result.verdict is Verdict.FAILED:
        ET.SubElement(case, "skipped", message=f"SHOULD not met: {first_line}")
        ET.SubElement(case, "system-out").text = transcript(result)
    elif result.verdict is Verdict.ERROR:
        error = ET.SubElement(case, "error", message=first_line, type="ERROR")
        error.text = transcript(result)
    elif result.verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", message=clean(result.message))
    return case


def write_junit(report: Report) -> str:
    cases = [_testcase(report, result) for result in report.results]
    if report.error:
        case = ET.Element("testcase", name="run", classname=f"conformance.{report.api}")
        ET.SubElement(case, "error", message=clean(report.error), type="RunError")
        cases.insert(0, case)
    # The counts are taken from the testcases themselves, so they always agree with them.
    suite = ET.Element(
        "testsuite",
        name=f"conformance.{report.api}",
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c.find("failure") is not None)),
        errors=str(sum(1 for c in cases if c.find("error") is not None)),
        skipped=str(sum(1 for c in cases if c.find("skipped") is not None)),
        time=f"{report.duration_s:.3f}",
        timestamp=report.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("base_url", report.base_url),
        ("profile", report.profile),
        ("seed", str(report.seed)),
        ("replay", report.replay),
    ):
        ET.SubElement(properties, "property", name=name, value=clean(value))
    suite.extend(cases)
    root = ET.Element("testsuites", name="conformance")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
