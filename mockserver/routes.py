"""Request paths matched against an OpenAPI document's path templates (OpenAPI 3.0.3,
Paths Object: `{name}` matches one path segment; concrete paths match before templated ones).

connexion routes a path parameter declared `integer` or `number` only when its value looks like
one (Starlette's `int` and `float` converters), so `/pets/abc` for an integer `petId` was a 404,
an unknown route. Here a route matches by its template alone, and a value of the wrong type is
the operation's invalid request, refused by parameter validation (400, or what the operation
declares for it). The fast path (`mockserver.compiled`) and connexion's routing
(`TemplateRoutingMiddleware`) route alike.
"""

import re
import typing as t

import starlette.routing
from connexion.frameworks.starlette import starlettify_path
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.operations import AbstractOperation
from connexion.spec import Specification
from connexion.utils import sort_routes


def path_pattern(base_path: str, template: str) -> re.Pattern[str]:
    """The request paths `base_path + template` matches, with or without a trailing slash."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base_path + template))
    return re.compile(f"^{pattern}/?$")


def route_template(operation: AbstractOperation, path: str | None = None) -> str:
    """The Starlette path of an operation: its template, typed only where a value spans
    segments (`format: path`)."""
    types = operation.get_path_parameter_types()
    spanning = {name: kind for name, kind in types.items() if kind == "path"}
    return str(starlettify_path(path or operation.path, spanning))


def routing_order(paths: t.Iterable[str]) -> list[str]:
    """A document's path templates in the order they are tried: concrete before templated
    (OpenAPI 3.0.3, Paths Object), as connexion's `sort_routes` orders Starlette paths."""
    ordered: list[str] = sort_routes(list(dict.fromkeys(paths)), key=starlettify_path)
    return ordered


class TemplateRoutingAPI(RoutingAPI):
    """connexion's routing of one API, by template and in `routing_order`."""

    @staticmethod
    def _framework_path_and_name(operation: AbstractOperation, path: str) -> tuple[str, str]:
        starlette_path = route_template(operation, path)
        return starlette_path, starlette_path

    def add_paths(self, paths: dict[str, t.Any] | None = None) -> None:
        declared = paths or self.specification.get("paths", {})
        super().add_paths({path: declared[path] for path in routing_order(declared)})


class TemplateRoutingMiddleware(RoutingMiddleware):
    """connexion's routing middleware, with `TemplateRoutingAPI` for each API."""

    def add_api(
        self,
        specification: Specification,
        base_path: str | None = None,
        arguments: dict[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> None:
        api = TemplateRoutingAPI(
            specification, base_path=base_path, arguments=arguments, next_app=self.app, **kwargs
        )
        # As connexion: a second API on the same base path answers what the first does not.
        for route in self.router.routes:
            if isinstance(route, starlette.routing.Mount) and route.path == api.base_path:
                route.app.default = api.router  # type: ignore[attr-defined]
        self.router.mount(api.base_path, app=api.router)
