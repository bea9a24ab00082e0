"""Load a spec file: read it as OpenAPI 3.0 (kycspec.documents), compile its `x-` extensions."""

import copy
import dataclasses
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kycspec import consistency, formfields, keywords, references, vocabulary
from kycspec.credentials import Credential, compile_credential
from kycspec.documents import is_document_file, openapi_problem, read_openapi
from kycspec.expressions import compile_condition, compile_value, compile_values, split_path
from kycspec.headers import compile_headers
from kycspec.idformat import id_pattern
from kycspec.infer import infer as infer_extensions
from kycspec.lifecycle import build_lifecycle
from kycspec.media import compile_files
from kycspec.model import (
    ApiSpec,
    Collect,
    ErrorFormat,
    Feed,
    Filter,
    Fixture,
    Lookup,
    Magic,
    Operation,
    Parent,
    Resource,
    TokenAlias,
)
from kycspec.paging import compile_paging
from kycspec.problems import DocumentError, NodeError, join, placed, pointer
from kycspec.stateless import (
    HTTP_METHODS,
    MAKE_STATEFUL,
    base_path,
    is_plain,
    stateless_spec,
)
from kycspec.types import JSONObject
from kycspec.updates import update_semantic
from kycspec.webhooks import WebhookSpecError, build_webhooks

NOT_ON_DISK = "kyc-contracts reads its specs from files; install it unpacked, not as {location}"


def _packaged_specs() -> Path:
    """The specs that ship inside the package (`kycspec/specs`, the repository's `specs/`)."""
    found = resources.files("kycspec") / "specs"
    if not isinstance(found, Path):
        raise RuntimeError(NOT_ON_DISK.format(location=found))
    return found.resolve()


SPECS_DIR = _packaged_specs()


class SpecError(ValueError):
    """The spec breaks a rule of the `x-` extensions (see specs/README.md).

    `pointer` is the JSON pointer of the offending node, when known.
    """

    def __init__(self, message: str, pointer: str = "", source: str = ""):
        self.problem = message
        self.pointer = pointer
        where = f"{source}#{pointer}" if pointer else source
        super().__init__(f"{where}: {message}" if source else message)


NO_X_OPERATION = (
    "{op_id}: no x-operation; a document with x-resources needs one on every operation "
    "(specs/README.md), or no x- extensions at all to be served statelessly"
)
STATEFUL_ONLY = ("x-sandbox", "x-errors", "x-webhooks", "x-idempotency")
NO_RESOURCES = (
    "{key} declares behaviour of stateful resources, but the document has no x-resources; "
    "{how}, or remove it"
)
MALFORMED = "malformed x- extension ({kind}: {error}); see specs/README.md"
NO_DOCUMENTS = "no OpenAPI documents (*.yaml, *.yml, *.json) in {directory}"
INFER_GAPS = "stays stateless under --infer: {gap}"
SAME_NAME = "{other} has the same name; API names come from file names and must be unique"
READ_ONLY_UPDATE = (
    "the transition from read-only state(s) {states} is driven by the update {operation!r}, "
    "which a read-only record refuses; drive it by a transition operation, the clock or the "
    "parent, or leave the state out of `read-only`"
)


def spec_error(source: str, at: str, problem: str) -> SpecError:
    """A `SpecError` naming the file and the JSON pointer of the node it is about."""
    return SpecError(problem, at, source)


def _problem(exc: Exception) -> str:
    """What a compile step's error says, for a `SpecError` (a KeyError is a missing key)."""
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc)


@contextmanager
def _compiling(source: str, at: str) -> Iterator[None]:
    """Turn what compiling the node at `at` raises into a `SpecError` at its pointer: a
    `NodeError` below it, a `SpecError` at its own pointer or the node's, and a missing key, a
    wrong type or a bad value at the node."""
    try:
        yield
    except NodeError as exc:
        raise spec_error(source, join(at, *exc.where), exc.problem) from None
    except SpecError as exc:
        raise spec_error(source, exc.pointer or at, exc.problem) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise spec_error(source, at, _problem(exc)) from None


def resolve_pointer(document: Mapping[str, Any], ref: str) -> Any:
    """The node a local `#/a/b` reference points at."""
    if not ref.startswith("#/"):
        raise SpecError(f"only local references are supported: {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline_refs(
    document: Mapping[str, Any], node: Any, _expanding: frozenset[str] = frozenset()
) -> Any:
    """A copy of the node with every local `$ref` replaced by its target.

    A reference met again inside its own expansion (a recursive schema) stays a `$ref`.
    """
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if ref in _expanding:
                return dict(node)
            return inline_refs(document, resolve_pointer(document, ref), _expanding | {ref})
        return {key: inline_refs(document, value, _expanding) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(document, item, _expanding) for item in node]
    return node


def _form_problem(document: JSONObject) -> tuple[str, str] | None:
    """The first form body whose fields could be read more than one way
    (`kycspec.formfields.ambiguity`), as (JSON pointer of the property at fault, message)."""
    for path, path_item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            body = inline_refs(document, (path_item.get(method) or {}).get("requestBody") or {})
            form = (body.get("content") or {}).get(formfields.FORM_MEDIA) or {}
            schema = form.get("schema")
            if not isinstance(schema, Mapping):
                continue
            found = formfields.ambiguity(schema, form.get("encoding") or {})
            if found is not None:
                at = ("paths", path, method, "requestBody", "content", formfields.FORM_MEDIA)
                return pointer(*at, "schema", "properties", found[0]), found[1]
    return None


def _resource(
    document: JSONObject, name: str, raw: Mapping[str, Any], errors: ErrorFormat
) -> Resource:
    timestamps = raw.get("timestamps", {})
    id_spec = raw["id"]
    placed(id_pattern, id_spec["format"], "id", "format")
    refused = errors.status("invalid_transition")
    lifecycle = (
        placed(lambda node: build_lifecycle(node, refused), raw["lifecycle"], "lifecycle")
        if "lifecycle" in raw
        else None
    )
    schema = inline_refs(document, resolve_pointer(document, raw["schema"]))
    for path in raw.get("partition", []):
        split_path(path)
    if lifecycle is not None:
        status = schema.get("properties", {}).get(lifecycle.field, {})
        problems = lifecycle.problems(status.get("enum"))
        if problems:
            raise SpecError(f"resource {name!r}: " + "; ".join(problems))
    parent = raw.get("parent")
    feed = raw.get("records")
    return Resource(
        feed=Feed(
            of=tuple(feed["of"]),
            set=placed(compile_values, feed.get("set", {}), "records", "set"),
        )
        if feed
        else None,
        parent=Parent(
            resource=parent["resource"],
            param=parent["param"],
            writable_in=tuple(parent.get("writable-in", [])),
            on_enter=placed(compile_values, parent.get("on-enter", {}), "parent", "on-enter"),
            raw=parent,
        )
        if parent
        else None,
        name=name,
        schema=schema,
        id_field=id_spec["field"],
        id_format=id_spec["format"],
        time_format=timestamps.get("format", "rfc3339"),
        created_field=timestamps.get("created", "created_at"),
        updated_field=timestamps.get("updated", "updated_at"),
        partition=tuple(raw.get("partition", [])),
        defaults=placed(compile_values, raw.get("defaults", {}), "defaults"),
        derived=placed(compile_values, raw.get("derived", {}), "derived"),
        lifecycle=lifecycle,
        raw=raw,
    )


def _under_parent(resource: Resource, resources: Mapping[str, Resource]) -> Resource:
    """The child resource with its partition: the parent's partition, then the parent's id."""
    parent = resource.parent
    if parent is None:
        return resource
    owner = resources.get(parent.resource)
    if owner is None or owner is resource:
        known = ", ".join(n for n in resources if n != resource.name) or "none"
        raise ValueError(f"parent resource {parent.resource!r} is not declared; known: {known}")
    if resource.partition:
        raise ValueError("a child resource takes its partition from its parent; drop `partition`")
    states = owner.lifecycle.states if owner.lifecycle else ()
    moves = resource.lifecycle.transitions if resource.lifecycle else ()
    named = [*parent.writable_in, *parent.on_enter, *(t.parent for t in moves if t.parent)]
    unknown = [s for s in dict.fromkeys(named) if s not in states]
    if unknown:
        raise ValueError(
            f"{unknown} are not states of {owner.name!r}; allowed: {', '.join(states) or 'none'}"
        )
    partition = (*owner.partition, f"path.{parent.param}")
    return dataclasses.replace(resource, partition=partition)


def _success(responses: Mapping[str, Any]) -> tuple[int, JSONObject | None]:
    codes = sorted(str(code) for code in responses if str(code).startswith("2"))
    if len(codes) != 1:
        raise ValueError(
            f"x-operation needs exactly one 2xx response to answer with, found "
            f"{', '.join(codes) or 'none'}; declare the others on another operation"
        )
    return int(codes[0]), _first_schema(responses[codes[0]].get("content", {}))


def _first_schema(content: Mapping[str, JSONObject]) -> JSONObject | None:
    """The schema of the first media type (the one connexion and the docs lead with)."""
    for media in content.values():
        schema: JSONObject | None = media.get("schema")
        return schema
    return None


def _operation(
    document: JSONObject,
    path: str,
    method: str,
    path_item: Mapping[str, Any],
    resources: Mapping[str, Resource],
    magic: tuple[Magic, ...],
    credentials: Mapping[str, Credential],
    base: Path | None = None,
) -> Operation:
    raw = path_item[method]
    where = pointer("paths", path, method)
    op_id = raw.get("operationId")
    if op_id is None:
        raise SpecError("an operation of a stateful API needs an operationId", where)
    extension = raw.get("x-operation")
    if extension is None:
        raise SpecError(NO_X_OPERATION.format(op_id=op_id), where)
    resource = resources[extension["resource"]]
    shared = path_item.get("parameters", [])
    params = inline_refs(document, [*shared, *raw.get("parameters", [])])
    clashing = keywords.clash(params)
    if clashing is not None:
        index, problem = clashing
        if index < len(shared):
            at = pointer("paths", path, "parameters", index)
        else:
            at = pointer("paths", path, method, "parameters", index - len(shared))
        raise SpecError(problem, at)
    body = inline_refs(document, raw.get("requestBody", {}))
    content = body.get("content", {})
    responses = inline_refs(document, raw["responses"])
    status, schema = _success(responses)
    lookup = extension.get("lookup")
    collect = extension.get("collect")
    security = raw.get("security", document.get("security", []))
    unknown = [name for name in _schemes(security) if name not in credentials]
    if unknown:
        known = ", ".join(credentials) or "none"
        raise ValueError(f"security names unknown scheme(s) {unknown}; declared: {known}")
    return Operation(
        operation_id=op_id,
        method=method.upper(),
        path=path,
        role=extension["role"],
        resource=resource,
        admin=bool(extension.get("admin", False)),
        target=extension.get("target"),
        lookup=Lookup(lookup["field"], split_path(lookup["from"])) if lookup else None,
        set=placed(compile_values, extension.get("set", {}), "x-operation", "set"),
        collect=Collect(
            into=collect["into"],
            key=placed(compile_value, "$" + collect["key"], "x-operation", "collect", "key"),
            item=placed(compile_value, collect["item"], "x-operation", "collect", "item"),
            as_field=collect.get("as"),
        )
        if collect
        else None,
        response=placed(compile_value, extension["response"], "x-operation", "response")
        if "response" in extension
        else None,
        success_status=status,
        success_schema=schema,
        filters=tuple(
            Filter(p["name"], p["x-filter"].get("field", p["name"]), p["x-filter"].get("op", "eq"))
            for p in params
            if "x-filter" in p
        ),
        paging=compile_paging(params),
        parameters=tuple(params),
        request_media_types=tuple(content),
        request_schema=_first_schema(content),
        magic=tuple(m for m in magic if op_id in m.operations),
        raw=raw,
        credentials=tuple(credentials[name] for name in _schemes(security)),
        public=not security or any(not requirement for requirement in security),
        update=update_semantic(extension, tuple(content)),
        body_required=bool(body.get("required", False)),
        headers=compile_headers(responses, status),
        files=compile_files(responses, status, base),
        success_media_types=tuple((responses.get(str(status)) or {}).get("content") or {}),
        request_encodings={
            media: declared.get("encoding") or {} for media, declared in content.items()
        },
    )


def _operations(
    document: JSONObject,
    source: str,
    resources: Mapping[str, Resource],
    magic: tuple[Magic, ...],
    credentials: Mapping[str, Credential],
    base: Path | None,
) -> dict[str, Operation]:
    """Every operation compiled, by id; raises `SpecError` at the node of the first bad one."""
    operations: dict[str, Operation] = {}
    for path, path_item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in path_item:
                at = pointer("paths", path, method)
                with _compiling(source, at):
                    op = _operation(
                        document, path, method, path_item, resources, magic, credentials, base
                    )
                operations[op.operation_id] = op
    return operations


def _schemes(security: list[Mapping[str, Any]]) -> list[str]:
    """The scheme names of a `security` list; each requirement is one alternative."""
    names: list[str] = []
    for requirement in security:
        if len(requirement) > 1:
            raise ValueError(
                f"security requirement {dict(requirement)} combines schemes; allowed: one "
                "scheme per requirement (list alternatives as separate requirements)"
            )
        names += list(requirement)
    return names


def _credentials(document: JSONObject, source: str) -> dict[str, Credential]:
    schemes = document.get("components", {}).get("securitySchemes", {})
    found = {}
    for name, raw in schemes.items():
        try:
            found[name] = compile_credential(name, inline_refs(document, raw))
        except ValueError as exc:
            at = pointer("components", "securitySchemes", name)
            raise spec_error(source, at, str(exc)) from None
    return found


def _magic(raw: list[Mapping[str, Any]]) -> tuple[Magic, ...]:
    return tuple(
        Magic(
            description=item.get("description", ""),
            operations=tuple(item["operations"]),
            when=placed(compile_condition, item["when"], index, "when"),
            set=placed(compile_values, item["set"], index, "set"),
            raw=item,
        )
        for index, item in enumerate(raw)
    )


def _fixtures(document: JSONObject, raw: list[Mapping[str, Any]]) -> tuple[Fixture, ...]:
    return tuple(
        Fixture(
            resource=item["resource"],
            record=copy.deepcopy(resolve_pointer(document, item["example"])["value"]),
            partition=dict(item.get("partition", {})),
        )
        for item in raw
    )


def _resources(document: JSONObject, source: str, errors: ErrorFormat) -> dict[str, Resource]:
    """The compiled `x-resources`: feeds checked, children placed under their parents."""
    resources = {}
    for res_name, raw in document.get("x-resources", {}).items():
        at = pointer("x-resources", res_name)
        with _compiling(source, at):
            resources[res_name] = _resource(document, res_name, raw, errors)
    for res_name, resource in resources.items():
        unknown = [n for n in (resource.feed.of if resource.feed else ()) if n not in resources]
        if unknown:
            at = pointer("x-resources", res_name, "records", "of")
            known = ", ".join(resources)
            raise spec_error(source, at, f"{unknown} are not resources; known: {known}")
        if resource.feed and (resource.partition or resource.raw.get("parent")):
            at = pointer("x-resources", res_name, "records")
            raise spec_error(source, at, "a feed (`records`) has no partition and no parent")
    for res_name, resource in list(resources.items()):
        moves = resource.lifecycle.transitions if resource.lifecycle else ()
        if resource.parent is None and any(t.parent for t in moves):
            at = pointer("x-resources", res_name, "lifecycle", "transitions")
            raise spec_error(source, at, "a `via: {parent: ...}` transition needs `parent`")
        if resource.parent is not None:
            try:
                resources[res_name] = _under_parent(resource, resources)
            except ValueError as exc:
                at = pointer("x-resources", res_name, "parent")
                raise spec_error(source, at, str(exc)) from None
    return resources


def _check_read_only(
    source: str, resources: Mapping[str, Resource], operations: Mapping[str, Operation]
) -> None:
    """Refuse a transition out of a read-only state driven by an update (never possible)."""
    updates = [op.operation_id for op in operations.values() if op.role == "update"]
    for name, resource in resources.items():
        lifecycle = resource.lifecycle
        if lifecycle is None:
            continue
        for index, transition in lifecycle.moves_by(updates):
            states = [s for s in transition.sources if s in lifecycle.read_only]
            at = pointer("x-resources", name, "lifecycle", "transitions", index, "via")
            problem = READ_ONLY_UPDATE.format(states=states, operation=transition.operation)
            raise spec_error(source, at, problem)


def _errors(raw: Mapping[str, Any]) -> ErrorFormat:
    """The compiled `x-errors` (RFC 9457 problem details when the spec declares none).

    Raises `NodeError` below `x-errors` for an envelope with an unknown expression."""
    default_body = {"title": "$title", "status": "$status", "detail": "$detail"}
    return ErrorFormat(
        media_type=raw.get("mediaType", "application/problem+json"),
        body=placed(compile_value, raw.get("body", default_body), "body"),
        codes=raw.get("codes", {}),
        statuses=raw.get("statuses", {}),
        bodies=placed(compile_values, raw.get("bodies", {}), "bodies"),
    )


def build_spec(
    name: str,
    document: JSONObject,
    source_version: str = "3.0",
    source: str | None = None,
    *,
    openapi_valid: bool = False,
) -> ApiSpec:
    """Compile an OpenAPI 3.0 document into an `ApiSpec` (stateless for a plain document).

    The document is checked against the OpenAPI 3.0 schema (skipped with `openapi_valid`: one
    `read_openapi` returned has been), then against the `x-` vocabulary (`kycspec.vocabulary`),
    before anything compiles it. Raises `SpecError` naming `source` (the file; `name` by
    default), the JSON pointer of the node at fault and what is allowed there.
    """
    source = source or name
    refused = None if openapi_valid else openapi_problem(document)
    refused = refused or vocabulary.problem(document) or _form_problem(document)
    if refused is not None:
        raise spec_error(source, *refused)
    if is_plain(document):
        stray = [key for key in STATEFUL_ONLY if key in document]
        if stray:
            problem = NO_RESOURCES.format(key=stray[0], how=MAKE_STATEFUL)
            raise spec_error(source, pointer(stray[0]), problem)
        return stateless_spec(name, document, source_version)
    try:
        error_format = _errors(document.get("x-errors", {}))
    except NodeError as exc:
        raise spec_error(source, pointer("x-errors", *exc.where), exc.problem) from None
    resources = _resources(document, source, error_format)
    base = Path(source).parent if Path(source).is_file() else None  # for `externalValue`
    sandbox = document.get("x-sandbox", {})
    try:
        magic = _magic(sandbox.get("magic", []))
    except NodeError as exc:
        raise spec_error(source, pointer("x-sandbox", "magic", *exc.where), exc.problem) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise spec_error(source, pointer("x-sandbox", "magic"), _problem(exc)) from None
    credentials = _credentials(document, source)
    operations = _operations(document, source, resources, magic, credentials, base)
    _check_read_only(source, resources, operations)
    try:
        fixtures = _fixtures(document, sandbox.get("fixtures", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise spec_error(source, pointer("x-sandbox", "fixtures"), _problem(exc)) from None
    try:
        webhooks = build_webhooks(document, resources, lambda node: inline_refs(document, node))
    except WebhookSpecError as exc:
        raise spec_error(source, exc.pointer, exc.problem) from None
    try:
        references.check(document, resources)
    except references.ReferenceProblem as exc:
        raise spec_error(source, exc.pointer, exc.problem) from None
    spec = ApiSpec(
        name=name,
        title=document["info"]["title"],
        document=document,
        base_path=base_path(document),
        resources=resources,
        operations=operations,
        errors=error_format,
        tokens={t: TokenAlias(**v) for t, v in sandbox.get("tokens", {}).items()},
        fixtures=fixtures,
        magic=magic,
        webhooks=webhooks,
        source_version=source_version,
        credentials=credentials,
        idempotency_header=document.get("x-idempotency", {}).get("header"),
    )
    found = consistency.problems(spec)
    if found:
        (at, problem), *others = found
        also = "".join(f"; also #{where}: {more}" for where, more in others)
        raise spec_error(source, at, problem + also)
    return spec


def read_document(path: Path) -> JSONObject:
    """The document in a YAML or JSON file as one OpenAPI 3.0 document (`kycspec.documents`)."""
    return read_openapi(path).content


@cache
def load_spec(path: Path, *, allow_remote_refs: bool = False, infer: bool = False) -> ApiSpec:
    """Load and compile one document; the API is named after the file.

    With `infer`, a plain document gets the extensions REST conventions imply
    (`kycspec.infer`) when they cover every operation; otherwise it stays stateless and the
    spec's `notes` say what was missing. Raises `DocumentError` (file, JSON pointer, what is
    wrong) for anything that stops it.
    """
    document = read_openapi(path, allow_remote_refs=allow_remote_refs)
    content = document.content
    notes: tuple[str, ...] = ()
    if infer and is_plain(content):
        inference = infer_extensions(content)
        if inference.gaps:
            notes = tuple(INFER_GAPS.format(gap=gap) for gap in inference.gaps)
        else:
            content = inference.applied(content)
    try:
        spec = build_spec(
            path.stem, content, document.source_version, str(path), openapi_valid=True
        )
        return dataclasses.replace(spec, notes=notes) if notes else spec
    except SpecError as exc:
        raise DocumentError(path, exc.pointer, exc.problem) from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, re.error) as exc:
        # A compile step that raised without saying where: still this file, never a traceback.
        message = MALFORMED.format(kind=type(exc).__name__, error=exc)
        raise DocumentError(path, "", message) from None


@dataclass(frozen=True)
class Loaded:
    """A directory of documents: the APIs that load, and why each of the others does not."""

    specs: dict[str, ApiSpec]
    problems: tuple[DocumentError, ...]


def load_directory(
    directory: Path = SPECS_DIR, *, allow_remote_refs: bool = False, infer: bool = False
) -> Loaded:
    """Every document in the directory that loads, and a `DocumentError` for each that does not.

    One bad document never hides the others. Files are `*.yaml`, `*.yml` and `*.json`; an API
    is named after its file, so two files with one stem are both refused.
    """
    paths = sorted(p for p in directory.iterdir() if is_document_file(p))
    if not paths:
        raise DocumentError(directory, "", NO_DOCUMENTS.format(directory=directory))
    stems: dict[str, list[Path]] = {}
    for path in paths:
        stems.setdefault(path.stem, []).append(path)
    specs: dict[str, ApiSpec] = {}
    problems: list[DocumentError] = []
    for path in paths:
        twins = [p.name for p in stems[path.stem] if p != path]
        if twins:
            problems.append(DocumentError(path, "", SAME_NAME.format(other=", ".join(twins))))
            continue
        try:
            specs[path.stem] = load_spec(path, allow_remote_refs=allow_remote_refs, infer=infer)
        except DocumentError as exc:
            problems.append(exc)
    return Loaded(specs, tuple(problems))


def load_all(directory: Path = SPECS_DIR) -> dict[str, ApiSpec]:
    """Every spec in the directory, by API name; raises the first `DocumentError`, if any."""
    loaded = load_directory(directory)
    if loaded.problems:
        raise loaded.problems[0]
    return loaded.specs
