"""Fixture records: the format shared by `--fixtures FILE`, `/__mock/fixtures` and snapshots.

A fixtures document is `{"records": [...]}`; each entry names where a record lives:

    {"sandbox": "alice", "api": "finx", "resource": "kyc_record",
     "partition": {"header.X-Tenant-ID": "t1"},   # only for partitioned resources
     "record": {...}}                              # server fields may be left out

A record is stored as a create in its sandbox would store it (see `Engine.seed`); every error
names where the record came from (`seed.yaml records[3]`), and the field.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kycspec.types import JSONObject
from mockserver.sandbox import SANDBOX_NAME


class FixtureError(ValueError):
    """A fixtures document that cannot be loaded, with the reason."""


@dataclass(frozen=True)
class FixtureRecord:
    """One record to put into a sandbox."""

    sandbox: str
    api: str
    resource: str
    record: JSONObject
    partition: dict[str, str] = field(default_factory=dict)
    origin: str = field(default="", compare=False)  # for errors: "seed.yaml records[3]"

    def to_json(self) -> JSONObject:
        entry: JSONObject = {
            "sandbox": self.sandbox,
            "api": self.api,
            "resource": self.resource,
            "record": self.record,
        }
        if self.partition:
            entry["partition"] = self.partition
        return entry


def parse_fixtures(document: Any, source: str = "") -> list[FixtureRecord]:
    """Check the shape of a fixtures document and return its records.

    `source` names the document in errors (a file name; empty for a request body).
    """
    prefix = f"{source} " if source else ""
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise FixtureError(f'{prefix}a fixtures document is an object with a "records" list')
    found = []
    for number, entry in enumerate(document["records"]):
        where = f"{prefix}records[{number}]"
        if not isinstance(entry, dict):
            raise FixtureError(f"{where} is not an object")
        missing = [key for key in ("sandbox", "api", "resource", "record") if key not in entry]
        if missing:
            raise FixtureError(f"{where} lacks {', '.join(missing)}")
        if not isinstance(entry["record"], dict):
            raise FixtureError(f"{where}.record is not an object")
        if not isinstance(entry.get("partition") or {}, dict):
            raise FixtureError(f"{where}.partition is not an object")
        if not SANDBOX_NAME.match(str(entry["sandbox"])):
            raise FixtureError(f"{where}.sandbox is not a valid sandbox name")
        found.append(
            FixtureRecord(
                sandbox=str(entry["sandbox"]),
                api=str(entry["api"]),
                resource=str(entry["resource"]),
                record=dict(entry["record"]),
                partition={str(k): str(v) for k, v in (entry.get("partition") or {}).items()},
                origin=where,
            )
        )
    return found


def read_fixtures(path: Path) -> list[FixtureRecord]:
    """Load a fixtures file, YAML or JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise FixtureError(f"cannot read {path}: {exc}") from exc
    return parse_fixtures(document, str(path))
