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
from collections.abc import AsyncGenerator, Callable
from typing import Any

import jsonschema_rs
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartParser
from starlette.types import Scope

_CACHE_LIMIT = 4096


class CompiledSchema:
    """One schema, compiled once: `validate` raises jsonschema's `ValidationError`."""

    def __init__(self, schema: Any, validator_cls: Any):
        self.schema = schema  # kept alive, so its id() is not reused while cached
        self.checker = validator_cls(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        self.fast = _compile_fast(schema)

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
        validator = jsonschema_rs.Draft4Validator(schema, formats=formats, validate_formats=True)
    except Exception:  # a schema it cannot take (e.g. a circular dict): jsonschema only
        return None
    return validator.is_valid


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


class CachedJSONBodyValidator(JSONRequestBodyValidator):
    """connexion's JSON body validator with a compiled schema."""

    @property
    def _validator(self) -> CompiledSchema:
        return compiled(self._schema, Draft4RequestValidator)


PARSED_FORM = "mockserver.parsed_form"
"""The scope key under which the form validator leaves the urlencoded body it parsed."""


def _is_file(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and schema.get("format") in ("binary", "base64")
    )


class CachedFormValidator(FormDataValidator):
    """connexion's form (urlencoded) validator with a compiled schema, which leaves the parsed
    form in the scope (`PARSED_FORM`) for the handler's request, so the body is parsed once.

    Its parse is the parameter decorator's (the same form parser, then the operation's URI
    parser's `resolve_form`), except that it blanks fields the schema declares as files; a
    form with such a field is not handed on, and is parsed again as before.
    """

    @property
    def _validator(self) -> CompiledSchema:
        return compiled(self._schema, Draft4RequestValidator)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> dict[str, Any]:
        data: dict[str, Any] = await super()._parse(stream, scope)
        if self._uri_parser is not None:
            properties = self._schema.get("properties", {})
            for key in data:
                field = properties.get(key, {})
                if _is_file(field) or _is_file(field.get("items")):
                    return data
            scope[PARSED_FORM] = data
        return data


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
        return compiled(self._schema, Draft4RequestValidator)


class CachedParameterValidator(ParameterValidator):
    """connexion's parameter validator, without the per-request deepcopy and compile."""

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
            return str(exception)
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
