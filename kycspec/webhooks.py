"""`x-webhooks`: which record changes emit which event, its payload, and how it is signed.

```yaml
x-webhooks:
  signature: {header: X-Kontorion-Signature}   # t=<unix>,v1=<HMAC-SHA256 hex> (Stripe-style)
  event-id: 'evt_{lower:24}'                   # optional, the default
  events:
    customer_verification.verified:
      resource: verification
      trigger: {enter: [verified], via: operation}  # or `trigger: create`; via: clock too
      schema: '#/components/schemas/VerificationEvent'
      payload: {id: $event.id, type: $event.type, created_at: $event.created, data: $record}
```

Each event's payload schema must be the request body of an OpenAPI `callbacks` operation of the
document (OpenAPI 3.0.3 section 4.7.15), or of a 3.1 `webhooks` one, so the documented callback
and the mock's deliveries cannot drift apart. Everything else is refused at load with the JSON
pointer at fault and what is allowed there.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kycspec import signature
from kycspec.expressions import Value, compile_value
from kycspec.idformat import id_pattern
from kycspec.problems import NodeError, join
from kycspec.types import JSONObject

if TYPE_CHECKING:
    from kycspec.model import Resource

VIA = ("operation", "clock")
DEFAULT_EVENT_ID = "evt_{lower:24}"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 section 5.6.2 field name

BAD_HEADER = "{value!r} is not an HTTP header name (RFC 9110 section 5.6.2)"
UNKNOWN_RESOURCE = "unknown resource {value!r} (allowed: {allowed})"
NO_LIFECYCLE = "resource {resource!r} has no lifecycle, so only `trigger: create` applies"
UNKNOWN_STATE = "unknown state {value!r} (allowed: {allowed})"
BAD_SCHEMA = "{value!r} is not a local reference to a schema of the document"
NO_CALLBACK = (
    "{value!r} is the request body of no OpenAPI `callbacks` operation; declare the "
    "callback the event is delivered to (with this schema as its JSON request body)"
)


@dataclass(frozen=True)
class WebhookEvent:
    """One declared event: what emits it, and the payload it carries."""

    name: str
    resource: str
    on_create: bool
    states: tuple[str, ...]  # entered by a transition (empty for `on: create`)
    via: str | None  # "operation", "clock" or None (either)
    schema_ref: str
    schema: JSONObject  # the payload schema, references inlined
    payload: Value
    # Where the payload template puts `$event.id` and `$event.type` (keys and list indexes),
    # so a receiver can tell deliveries apart without knowing the vendor's envelope.
    id_path: tuple[str | int, ...] | None = None
    type_path: tuple[str | int, ...] | None = None

    def emitted_by(self, resource: str, state: str, via: str) -> bool:
        """Whether a record of `resource` entering `state` by `via` (`create`, `operation`,
        `clock`) emits this event."""
        if resource != self.resource:
            return False
        if via == "create":
            return self.on_create
        return state in self.states and self.via in (None, via)


@dataclass(frozen=True)
class Webhooks:
    """The API's webhooks (`x-webhooks`)."""

    signature_header: str
    event_id: str
    events: Mapping[str, WebhookEvent]
    signature_scheme: str = signature.TIMESTAMPED

    def emitted(self, resource: str, state: str, via: str) -> list[WebhookEvent]:
        return [e for e in self.events.values() if e.emitted_by(resource, state, via)]


class WebhookSpecError(ValueError):
    """`x-webhooks` names something that does not exist: the JSON pointer at fault, and what."""

    def __init__(self, pointer: str, problem: str):
        self.pointer = pointer
        self.problem = problem
        super().__init__(f"{pointer}: {problem}")


def build_webhooks(
    document: JSONObject, resources: Mapping[str, "Resource"], inline: Any
) -> Webhooks | None:
    """Compile the document's `x-webhooks`, or None when it declares none.

    Its shape has been checked against the vocabulary (`kycspec.vocabulary`); this checks what
    it names. `inline(node)` returns a node with its local references resolved. Raises
    `WebhookSpecError` naming the pointer at fault.
    """
    raw = document.get("x-webhooks")
    if raw is None:
        return None
    base = "/x-webhooks"
    header = raw["signature"]["header"]
    if not _TOKEN.match(header):
        raise WebhookSpecError(f"{base}/signature/header", BAD_HEADER.format(value=header))
    event_id = raw.get("event-id", DEFAULT_EVENT_ID)
    _checked(lambda: id_pattern(event_id), f"{base}/event-id")
    bodies = set(callback_bodies(document))
    built = {
        name: _event(document, resources, inline, bodies, name, item)
        for name, item in raw["events"].items()
    }
    scheme = raw["signature"].get("scheme", signature.TIMESTAMPED)
    return Webhooks(
        signature_header=header, event_id=event_id, events=built, signature_scheme=scheme
    )


def _event(
    document: JSONObject,
    resources: Mapping[str, "Resource"],
    inline: Any,
    bodies: set[str],
    name: str,
    raw: Mapping[str, Any],
) -> WebhookEvent:
    pointer = f"/x-webhooks/events/{_escape(name)}"
    resource = resources.get(raw["resource"])
    if resource is None:
        problem = UNKNOWN_RESOURCE.format(value=raw["resource"], allowed=", ".join(resources))
        raise WebhookSpecError(f"{pointer}/resource", problem)
    on_create, states, via = _trigger(raw["trigger"], f"{pointer}/trigger", resource)
    schema_ref = raw["schema"]
    schema = _schema(document, inline, schema_ref, f"{pointer}/schema")
    if schema_ref not in bodies:
        raise WebhookSpecError(f"{pointer}/schema", NO_CALLBACK.format(value=schema_ref))
    template = raw["payload"]
    payload = _checked(lambda: compile_value(template), f"{pointer}/payload")
    return WebhookEvent(
        name,
        resource.name,
        on_create,
        states,
        via,
        schema_ref,
        schema,
        payload,
        id_path=template_path(template, "$event.id"),
        type_path=template_path(template, "$event.type"),
    )


def template_path(template: Any, expression: str) -> tuple[str | int, ...] | None:
    """The keys (and list indexes) at which a payload template holds `expression`, if it does."""
    if template == expression:
        return ()
    items: list[tuple[str | int, Any]] = []
    if isinstance(template, dict):
        items = list(template.items())
    elif isinstance(template, list):
        items = list(enumerate(template))
    for key, item in items:
        found = template_path(item, expression)
        if found is not None:
            return (key, *found)
    return None


def at_path(payload: Any, path: tuple[str | int, ...] | None) -> Any:
    """The value at `path` in a delivered payload (None when it is not there)."""
    if path is None:
        return None
    node = payload
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _trigger(
    raw: Any, pointer: str, resource: "Resource"
) -> tuple[bool, tuple[str, ...], str | None]:
    if raw == "create":
        return True, (), None
    lifecycle = resource.lifecycle
    if lifecycle is None:
        raise WebhookSpecError(pointer, NO_LIFECYCLE.format(resource=resource.name))
    entered = raw["enter"]
    states = tuple(entered) if isinstance(entered, list) else (entered,)
    for number, state in enumerate(states):
        if state not in lifecycle.states:
            at = f"{pointer}/enter/{number}" if isinstance(entered, list) else f"{pointer}/enter"
            allowed = ", ".join(lifecycle.states)
            raise WebhookSpecError(at, UNKNOWN_STATE.format(value=state, allowed=allowed))
    return False, states, raw.get("via")


def _schema(document: JSONObject, inline: Any, ref: str, pointer: str) -> JSONObject:
    try:
        schema = inline({"$ref": ref})
    except (KeyError, TypeError, ValueError):
        raise WebhookSpecError(pointer, BAD_SCHEMA.format(value=ref)) from None
    if not isinstance(schema, dict):
        raise WebhookSpecError(pointer, BAD_SCHEMA.format(value=ref))
    return schema


def callback_bodies(document: JSONObject) -> Iterator[str]:
    """The `$ref` of every JSON request body schema of a `callbacks` operation (an operation's
    own or one in `components/callbacks` it references), and of an OpenAPI 3.1 `webhooks`
    operation (section 4.8.1: a map of path items, like a callback)."""
    yield from _bodies(document.get("webhooks", {}))
    named = document.get("components", {}).get("callbacks", {})
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for callback in operation.get("callbacks", {}).values():
                ref = callback.get("$ref", "")
                if ref.startswith("#/components/callbacks/"):
                    yield from _bodies(named.get(ref.rsplit("/", 1)[1], {}))
                else:
                    yield from _bodies(callback)


def _bodies(callback: Mapping[str, Any]) -> Iterator[str]:
    for path_item in callback.values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                ref = media.get("schema", {}).get("$ref")
                if "json" in media_type and ref:
                    yield ref


def _checked(build: Any, pointer: str) -> Any:
    try:
        return build()
    except NodeError as exc:
        raise WebhookSpecError(join(pointer, *exc.where), exc.problem) from None
    except ValueError as exc:
        raise WebhookSpecError(pointer, str(exc)) from None


def _escape(name: str) -> str:
    """A key as a JSON pointer token (RFC 6901 section 3)."""
    return name.replace("~", "~0").replace("/", "~1")
