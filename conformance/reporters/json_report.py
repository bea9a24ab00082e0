"""The JSON report: run metadata, the catalogue, and every result with its exchanges."""

import json

from conformance.reporters.report import Report

SCHEMA_VERSION = 1


def write_json(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "run": report.metadata(),
        "catalogue": [r.to_json() for r in report.catalogue],
        "results": [r.to_json() for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
