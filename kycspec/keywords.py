"""The keyword argument each parameter reaches the mock's handler as, and the clashes that would
lose one: connexion passes path and query parameters as keyword arguments named by its
`sanitized` function (`created[lt]` and `created_lt` both become `created_lt`, `created.lt`
becomes `createdlt`; a path parameter's `-` is `_` in its route first, `{applicant-id}` is
`applicant_id`), beside the request body (`body`) and the caller (`token_info`, `user`).
Two parameters of one operation with one keyword would leave one silently shadowing the other,
so such a spec is refused when it loads.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from connexion.decorators.parameter import sanitized
from connexion.frameworks.starlette import starlettify_path

# The keywords connexion gives the handler besides the parameters (connexion.decorators).
RESERVED = ("body", "token_info", "user")
PASSED = ("path", "query")  # the locations connexion passes as keyword arguments
CLASH = (
    "{kind} parameter {name!r} reaches the server as the keyword argument {keyword!r}, "
    "as {other} does (connexion's sanitised names: brackets become _, other characters "
    "that are not letters, digits or _ are dropped); rename one of them"
)
RESERVED_CLASH = "connexion's own argument {name!r}"


def keyword(name: str, where: str) -> str:
    """The keyword argument a parameter named `name` in `where` (`path`, `query`) reaches the
    handler as: connexion's route name for a path parameter, sanitised."""
    if where == "path":
        name = starlettify_path("{" + name + "}")[1:-1]
    return str(sanitized(name))


def clash(parameters: Sequence[Mapping[str, Any]]) -> tuple[int, str] | None:
    """The first parameter (its index) whose keyword another one, or connexion's own
    arguments, already has, with the problem; None when every keyword is its own.

    `parameters` are an operation's, path-level first: one the operation declares again
    (same name and location) overrides the path-level one (OpenAPI 3.0.3 section 4.7.10).
    """
    last = {(p.get("name"), p.get("in")): index for index, p in enumerate(parameters)}
    taken = {name: RESERVED_CLASH.format(name=name) for name in RESERVED}
    for index, parameter in enumerate(parameters):
        name, where = parameter.get("name"), parameter.get("in")
        if where not in PASSED or last[(name, where)] != index or not isinstance(name, str):
            continue
        argument = keyword(name, where)
        if argument in taken:
            other = taken[argument]
            return index, CLASH.format(kind=where, name=name, keyword=argument, other=other)
        taken[argument] = f"{where} parameter {name!r}"
    return None
