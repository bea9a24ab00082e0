"""A spec of a `thing` with values only the server knows, for the suite's reference model.

Its defaults hold a `$text:` template that reads the record's id; `submitThing` moves a record
to `processing`, the clock (`due_at`, 5 s later) to `done`, whose on-enter sets a generated id;
`updateThing` takes a form whose body is required and has no required field.
"""

import copy
from pathlib import Path
from typing import Any

from conformance.layers.lifecycle import run_lifecycle
from conformance.requirements import build_catalogue
from conformance.results import Result
from conformance.settings import Profile, Settings
from conformance.target import Target
from kycspec import load_spec
from kycspec.model import ApiSpec
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.tinyspec import ERRORS, tiny_document, write_spec

PROFILE = Profile("unknown-values", ("lifecycle",), 0, 25, 20)
URL = "$text:https://tiny.example/start/{record.id}"
REPORT = "$id:rep_{alnum:10}"
NULLABLE = {"type": "string", "nullable": True}


def lifecycle_document(
    url: str = URL,
    report: str = REPORT,
    read_only: tuple[str, ...] = ("done",),
    terminal: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """`thing` with a lifecycle: submitThing moves it to processing, the clock to done, where
    updateThing (a form) is refused (the read-only states; terminal: the same by default)."""
    document = tiny_document()
    schema = document["components"]["schemas"]["Thing"]["properties"]
    schema.update(
        status={"type": "string", "enum": ["open", "processing", "done"], "readOnly": True},
        url={**NULLABLE, "readOnly": True},
        report={**NULLABLE, "readOnly": True},
        due_at={**NULLABLE, "format": "date-time", "readOnly": True},
    )
    document["x-resources"]["thing"].update(
        defaults={"url": url, "report": None, "due_at": None},
        lifecycle={
            "field": "status",
            "states": ["open", "processing", "done"],
            "default": "open",
            "terminal": list(read_only if terminal is None else terminal),
            "read-only": list(read_only),
            "on-enter": {
                "processing": {"due_at": "$now+5s", "url": None},
                "done": {"report": report, "due_at": None},
            },
            "transitions": [
                {"from": ["open"], "to": "processing", "via": {"operation": "submitThing"}},
                {"from": ["processing"], "to": "done", "via": {"clock": "due_at"}},
            ],
        },
    )
    read = document["paths"]["/things/{id}"]["get"]
    form = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "additionalProperties": False,
    }
    document["paths"]["/things/{id}"]["post"] = {
        "operationId": "updateThing",
        "parameters": copy.deepcopy(read["parameters"]),
        "x-operation": {"role": "update", "resource": "thing", "response": "$record"},
        # required, with no required field: an empty form would be no content at all
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        },
        "responses": {"200": copy.deepcopy(read["responses"]["200"]), **ERRORS},
    }
    document["paths"]["/things/{id}/submit"] = {
        "post": {
            "operationId": "submitThing",
            "parameters": copy.deepcopy(read["parameters"]),
            "x-operation": {
                "role": "transition",
                "resource": "thing",
                "target": "processing",
                "response": "$record",
            },
            "responses": {"200": copy.deepcopy(read["responses"]["200"]), **ERRORS},
        }
    }
    return document


def run_lifecycle_layer(
    tmp_path: Path, served: dict[str, Any], checked: dict[str, Any]
) -> list[Result]:
    """The lifecycle layer, judging by `checked`, against the mock serving `served`."""
    spec, served_dir = write_both(tmp_path, served, checked)
    with serve_in_thread(create_app(served_dir, validate_responses=True)) as url:
        target = target_for(spec, url)
        settings = Settings(PROFILE, seed=1, budget_s=60)
        return run_lifecycle(target, build_catalogue(spec), settings, lambda e: None)


def write_both(
    tmp_path: Path, served: dict[str, Any], checked: dict[str, Any]
) -> tuple[ApiSpec, Path]:
    """The spec the suite checks by (loaded), and the folder of the one the mock serves."""
    (tmp_path / "served").mkdir()
    write_spec(tmp_path / "served", served)
    return load_spec(write_spec(tmp_path, checked)), tmp_path / "served"


def target_for(spec: ApiSpec, url: str, **options: Any) -> Target:
    """The mock at `url` serving the spec, with its control plane."""
    return Target(
        spec,
        f"{url}/tiny/v1",
        "test_unknown",
        control_url=f"{url}/__mock",
        timeout=5.0,
        sandbox="unknown",
        **options,
    )
