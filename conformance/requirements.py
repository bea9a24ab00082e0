"""The requirements catalogue: every check the suite makes, with a stable ID.

Requirements are derived from the spec, so a new API gets its catalogue for free:

- API-wide ones are `<API>-<AREA>-<NNN>` (`FINX-SCHEMA-003`, `FINHUB-SEC-004`,
  `KONTORION-ROBUST-002`);
- per-resource ones are `<API>-<RESOURCE>-<AREA>-<NNN>` (`FINX-KYC-RECORD-LC-007`).

The numbers come from the fixed tables in `conformance.requirement_templates` and never change
meaning; a requirement that does not apply to an API (no admin operation, no clock transition)
is left out of its catalogue.
"""

from dataclasses import dataclass
from typing import Any

from conformance.parent_states import reachable_closed_states
from conformance.requirement_templates import (
    LIFECYCLE,
    LIFECYCLE_CHECKS,
    ROBUSTNESS,
    SCHEMA,
    SECURITY,
    SOURCE_ROLES,
    WEBHOOKS,
    Template,
    timestamp_rules,
)
from kycspec.model import ApiSpec, Resource

WRITE_ROLES = ("create", "update", "transition", "delete")
LAYERS = ("schema", "lifecycle", "security", "robustness", "webhooks")
# The one lifecycle requirement of a plain document: what its x- extensions would declare.
STATEFUL_STATEMENT = "Records persist and follow the lifecycle the x- extensions declare."


@dataclass(frozen=True)
class Requirement:
    """One checkable statement about an implementation."""

    id: str
    level: str  # MUST or SHOULD
    statement: str
    source: str
    layer: str
    check: str  # the name of the registered check that decides it (conformance.checks)
    resource: str | None = None  # the resource of a lifecycle requirement

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "statement": self.statement,
            "source": self.source,
            "layer": self.layer,
            "check": self.check,
            "resource": self.resource,
        }


def resource_code(resource: str) -> str:
    """The resource part of a lifecycle requirement ID (`kyc_record` -> `KYC-RECORD`)."""
    return resource.upper().replace("_", "-")


def _source(spec: ApiSpec, base: str) -> str:
    return f"{spec.title}: {base}"


def _resource_source(spec: ApiSpec, resource: Resource, template: Template) -> str:
    """The docs sections (operation summaries) and recorded decisions a requirement rests on."""
    ops = [
        op
        for op in spec.operations_of(resource.name)
        if op.role in SOURCE_ROLES.get(template.check, ())
        and (template.check != "guards_enforced" or any(t.guards for t in op.transitions()))
    ]
    sections = list(dict.fromkeys(op.raw.get("summary", op.operation_id) for op in ops))
    decisions = [op.raw.get("x-decision") for op in ops]
    if SOURCE_ROLES.get(template.check) == ("list",):  # paging and filter parameters decide
        decisions += [p.get("x-decision") for op in ops for p in op.parameters]
    if template.check in LIFECYCLE_CHECKS:
        decisions.append(resource.raw.get("lifecycle", {}).get("x-decision"))
    marked = sorted({d for d in decisions if d}, key=lambda d: int(d[1:]))
    text = f"{spec.title}: {template.source}"
    if sections:
        text += "; docs: " + ", ".join(sections)
    if marked:
        text += "; decisions " + ", ".join(marked)
    return text


def build_catalogue(spec: ApiSpec) -> list[Requirement]:
    """Every requirement that applies to the API, in a stable order."""
    api = spec.name.upper()
    found: list[Requirement] = []
    api_wide = (
        ("schema", "SCHEMA", SCHEMA),
        ("security", "SEC", SECURITY),
        ("robustness", "ROBUST", ROBUSTNESS),
        ("webhooks", "WEBHOOK", WEBHOOKS),
    )
    for layer, area, templates in api_wide:
        found += [
            _made(t, f"{api}-{area}", t.statement, _source(spec, t.source), layer)
            for t in templates
            if t.applies(spec, None)
        ]
    if not spec.stateful:
        found.append(
            Requirement(
                f"{api}-LC-000",
                "MUST",
                STATEFUL_STATEMENT,
                _source(spec, "x-resources, x-operation"),
                "lifecycle",
                "stateful_behaviour",
            )
        )
    for resource in spec.resources.values():
        if not spec.operations_of(resource.name, "create"):
            # the lifecycle layer makes its own records; a server-made feed is checked by
            # `feed_records_changes` instead
            continue
        fields = {
            "created": resource.created_field,
            "updated": resource.updated_field,
            "timestamps": timestamp_rules(spec, resource),
            "refused": (
                resource.lifecycle.refused_status
                if resource.lifecycle
                else spec.errors.status("invalid_transition")
            ),
            "parent": resource.parent.resource if resource.parent else "",
            "param": resource.parent.param if resource.parent else "",
            "closed": " or ".join(reachable_closed_states(spec, resource)),
            "writes": ", ".join(
                role for role in WRITE_ROLES if spec.operations_of(resource.name, role)
            ),
        }
        found += [
            _made(
                t,
                f"{api}-{resource_code(resource.name)}-LC",
                t.statement.format(**fields),
                _resource_source(spec, resource, t),
                "lifecycle",
                resource.name,
            )
            for t in LIFECYCLE
            if t.applies(spec, resource)
        ]
    return found


def _made(
    template: Template,
    prefix: str,
    statement: str,
    source: str,
    layer: str,
    resource: str | None = None,
) -> Requirement:
    return Requirement(
        f"{prefix}-{template.number:03d}",
        template.level,
        statement,
        source,
        layer,
        template.check,
        resource,
    )
