"""connexion's request validators, with every schema compiled once instead of on each request.

connexion builds a jsonschema validator per request (and deep-copies each parameter's schema
first). These subclasses plug into its `validator_map` hook and keep connexion's parsing and
error handling; only the schema check is cached. A valid instance is confirmed by a compiled
`jsonschema_rs` validator; anything it refuses is checked again by connexion's own jsonschema
validator, which decides and words the error, so a 400 reads exactly as before. `jsonschema_rs`
only ever says yes to what connexion accepts: it is told jsonschema's own format checks, and
where it is stricter (OpenAPI `nullable`, which it does not know) the fallback lets the value
through.
"""

import functools
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import jsonschema_rs
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartParser
from starlette.types import Scope

from mockserver import errors
from mockserver.bodies import load_json, parse_urlencoded
from mockserver.deepobject import fold

_CACHE_LIMIT = 4096


def _required_unless_read_only(
    validator: Any, required: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """`required`, less the `readOnly` properties: OpenAPI 3.0.3, Schema Object `readOnly`
    ("a required readOnly property is required in responses only")."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    for name in required:
        declared = properties.get(name)
        read_only = isinstance(declared, dict) and declared.get("readOnly") is True
        if name not in instance and not read_only:
            yield ValidationError(f"{name!r} is a required property")


# connexion's request body validator, with `readOnly` properties no longer required.
RequestValidator = extend(Draft4RequestValidator, {"required": _required_unless_read_only})


class CompiledSchema:
    """One schema, compiled once: `validate` raises jsonschema's `ValidationError`."""

    def __init__(self, schema: Any, validator_cls: Any):
        self.schema = schema  # kept alive, so its id() is not reused while cached
        self.checker = validator_cls(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        self.fast = _compile_fast(schema)

    @functools.cached_property
    def accepts_empty_object(self) -> bool:
        """Whether `{}` is valid: a form body with no fields."""
        try:
            self.validate({})
        except ValidationError:
            return False
        return True

    def validate(self, instance: Any) -> None:
        if self.fast is not None:
            try:
                if self.fast(instance):
                    return
            except Exception:  # a value it cannot convert: jsonschema decides
                pass
        self.checker.validate(instance)


def _compile_fast(schema: Any) -> Callable[[Any], bool] | None:
    checker = Draft4Validator.FORMAT_CHECKER
    formats: dict[str, Callable[..., bool]] = {
        name: functools.partial(_conforms, name) for name in checker.checkers
    }
    if isinstance(schema, dict) and "components" in schema:
        # connexion attaches the spec's components (with $refs inlined, so the body schema
        # itself sits inside them again); the schema needs none of it.
        schema = {key: value for key, value in schema.items() if key != "components"}
    try:
        schema = _integer_bounds(schema)
        validator = jsonschema_rs.Draft4Validator(schema, formats=formats, validate_formats=True)
    except Exception:  # a schema it cannot take (e.g. a circular dict): jsonschema only
        return None
    return validator.is_valid


# OpenAPI 3.0.3 data types; jsonschema_rs checks formats of strings only, so integer formats
# become the bounds they stand for.
_INTEGER_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _integer_bounds(node: Any) -> Any:
    """A copy of the schema with `format: int32`/`int64` also written as minimum and maximum."""
    if isinstance(node, list):
        return [_integer_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _integer_bounds(value) for key, value in node.items()}
    fmt = out.get("format")
    bounds = _INTEGER_RANGES.get(fmt) if isinstance(fmt, str) else None
    if bounds is not None:
        low, high = bounds
        out["minimum"] = max(out.get("minimum", low), low)
        out["maximum"] = min(out.get("maximum", high), high)
    return out


def _conforms(name: str, value: Any) -> bool:
    return Draft4Validator.FORMAT_CHECKER.conforms(value, name)  # type: ignore[no-any-return]


_COMPILED: dict[tuple[int, Any], CompiledSchema] = {}


def compiled(schema: Any, validator_cls: Any) -> CompiledSchema:
    """The cached compiled validator of a schema dict connexion holds for the app's lifetime."""
    key = (id(schema), validator_cls)
    found = _COMPILED.get(key)
    if found is None or found.schema is not schema:
        if len(_COMPILED) >= _CACHE_LIMIT:
            _COMPILED.clear()
        found = _COMPILED[key] = CompiledSchema(schema, validator_cls)
    return found


PARSED_BODY = "mockserver.parsed_body"
"""The scope key under which a body validator leaves the JSON or urlencoded body it parsed, so
the handler's request takes it instead of parsing the body again."""


class CachedJSONBodyValidator(JSONRequestBodyValidator):
    """connexion's JSON body validator with a compiled schema, parsing by the mock's JSON
    intake rules (`mockserver.bodies.load_json`)."""

    @property
    def _validator(self) -> CompiledSchema:
        return compiled(self._schema, RequestValidator)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        value = load_json(b"".join([chunk async for chunk in stream]))
        scope[PARSED_BODY] = value
        return value

    def check(self, raw: bytes) -> Any:
        """A body of `raw` bytes (announced by a non-zero `Content-Length`) parsed and
        validated as `wrap_receive` parses and validates it; raises as it raises."""
        value = load_json(raw)
        if not (value is None and self._nullable):
            self._validate(value)
        return value

    def _validate(self, body: Any) -> dict[str, Any] | None:
        # A JSON `null` body is valid where the schema allows null (OpenAPI 3.0 `nullable`
        # anywhere, a 3.1 `null` type or branch as converted to 3.0); connexion asks only
        # for a `nullable` at the top of the schema.
        if body is None and self._validator.checker.is_valid(None):
            return None
        return super()._validate(body)  # type: ignore[no-any-return]


class CachedFormValidator(FormDataValidator):
    """connexion's form (urlencoded) validator with a compiled schema, parsing the body as UTF-8
    (`mockserver.bodies.parse_urlencoded`) and then by the operation's URI parser.

    An empty body is a form with no fields, which is a body (Stripe takes it): a required body
    refuses it only when its schema refuses `{}`.
    """

    def __init__(self, *, schema: Any, required: bool = False, **kwargs: Any) -> None:
        if required:
            required = not compiled(schema, RequestValidator).accepts_empty_object
        super().__init__(schema=schema, required=required, **kwargs)

    @property
    def _validator(self) -> CompiledSchema:
        return compiled(self._schema, RequestValidator)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> dict[str, Any]:
        data = self._fields(b"".join([chunk async for chunk in stream]))
        scope[PARSED_BODY] = data
        return data

    def _fields(self, raw: bytes) -> dict[str, Any]:
        fields = parse_urlencoded(raw)
        data: dict[str, Any] = (
            fields if self._uri_parser is None else self._uri_parser.resolve_form(fields)
        )
        return data

    def check(self, raw: bytes) -> dict[str, Any]:
        """A body of `raw` bytes (announced by a non-zero `Content-Length`) parsed and
        validated as `wrap_receive` parses and validates it; raises as it raises."""
        data = self._fields(raw)
        self._validate(data)
        return data


class SingleValueURIParser(OpenAPIURIParser):
    """connexion's OpenAPI 3 URI parser, refusing a parameter or form field whose schema is not
    an array when it is sent more than once (connexion would keep the last value, or join the
    values with commas); the 400 names it. Form fields of a property encoded
    `style: deepObject` (`metadata[order_id]=42`) or of an exploded `form` object (`R=100`)
    are folded into its value first (`mockserver.deepobject`)."""

    def resolve_params(self, params: dict[str, Any], _in: str) -> dict[str, Any]:
        if _in != "path":
            _refuse_repeats(params, self.param_schemas)
        return super().resolve_params(params, _in)  # type: ignore[no-any-return]

    def resolve_form(self, form_data: dict[str, Any]) -> dict[str, Any]:
        if self._body_schema is None or self._body_schema.get("type") != "object":
            return super().resolve_form(form_data)  # type: ignore[no-any-return]
        form_data, folded = fold(form_data, self._body_schema, self._body_encoding)
        _refuse_repeats(form_data, self.form_defns)
        resolved: dict[str, Any] = super().resolve_form(form_data)
        resolved.update(folded)
        return resolved


def _refuse_repeats(values: dict[str, Any], schemas: dict[str, Any]) -> None:
    for name, given in values.items():
        schema = schemas.get(name)
        if schema is None or schema.get("type") == "array":
            continue
        if isinstance(given, list) and len(given) > 1:
            raise errors.InvalidRequest(errors.PARAMETER_REPEATED.format(name=errors.shown(name)))


class _ClosingMultiPartParser(MultiPartParser):
    async def parse(self) -> FormData:
        form = await super().parse()
        await form.close()
        return form


class ClosingMultiPartValidator(MultiPartFormDataValidator):
    """connexion's multipart validator, closing the uploads it parses only to validate them,
    with a compiled schema.

    connexion leaves them open, so every document upload leaked a temporary file.
    """

    @property
    def _form_parser_cls(self) -> type[MultiPartParser]:
        return _ClosingMultiPartParser

    @property
    def _validator(self) -> CompiledSchema:
        return compiled(self._schema, RequestValidator)


PARSED_PARAMETERS = "mockserver.parsed_parameters"
"""The scope key under which the parameter validator leaves the request it read the path and
query parameters from (a `ConnexionRequest`, which keeps them once resolved), so the compiled
operations take them instead of resolving them again."""


class CachedParameterValidator(ParameterValidator):
    """connexion's parameter validator, without the per-request deepcopy and compile, whose
    message names the parameter."""

    def validate(self, scope: Scope) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        self.validate_request(request)
        scope[PARSED_PARAMETERS] = request

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(  # type: ignore[no-any-return]
                parameter_type, value, param, param_name
            )
        try:
            compiled(param.get("schema", param), Draft4Validator).validate(value)
        except ValidationError as exception:
            name = errors.shown(param.get("name", param_name))
            if exception.validator == "format" and exception.validator_value == "date-time":
                return errors.TIME_INVALID.format(
                    name=f"The parameter {name}", value=errors.shown(value)
                )
            return errors.PARAMETER_INVALID.format(name=name, reason=exception.message)
        return None


def validator_map() -> dict[str, Any]:
    """The `validator_map` for `AsyncApp.add_api`: connexion's, with the cached validators."""
    body = dict(VALIDATOR_MAP["body"])
    for media_type, validator in body.items():
        if issubclass(validator, JSONRequestBodyValidator):
            body[media_type] = CachedJSONBodyValidator
    body["application/x-www-form-urlencoded"] = CachedFormValidator
    body["multipart/form-data"] = ClosingMultiPartValidator
    return {"body": type(VALIDATOR_MAP["body"])(body), "parameter": CachedParameterValidator}
