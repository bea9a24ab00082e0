"""Cross-references between the extensions, checked once at load time.

A typo in an operation id or an error kind would otherwise load fine and leave a transition, a
magic value or an error code silently dead.
"""

from kycspec.model import ApiSpec
from kycspec.problems import pointer

NOT_AN_OPERATION = (
    "{resource}: transition to {target!r} names {operation!r}, not an operation of this resource"
)
UNKNOWN_OPERATION = "magic {magic!r} names unknown operation {operation!r}; known: {known}"
PARENT_PARAM = (
    "each {child} lives under its {parent}, so the path of {operations} needs the parameter "
    "{param!r}; path parameters there: {allowed}"
)
NO_LIMIT = "{operation}: pages need a parameter marked x-page: limit"
NOT_A_STATE = "{operation}: target {target!r} is not a state; states: {states}"
NO_TRANSITION = "{operation}: a transition operation no lifecycle transition names"

Problem = tuple[str, str]  # (JSON pointer, what is wrong there)


def problems(spec: ApiSpec) -> list[Problem]:
    """Everything in the spec's extensions that names something that does not exist, each with
    the JSON pointer of the node that names it."""
    found: list[Problem] = []
    for resource in spec.resources.values():
        lifecycle = resource.lifecycle
        if lifecycle is None:
            continue
        for index, transition in enumerate(lifecycle.transitions):
            op = spec.operations.get(transition.operation or "")
            if transition.operation and (op is None or op.resource is not resource):
                at = pointer("x-resources", resource.name, "lifecycle", "transitions", index, "via")
                found.append(
                    (
                        at + "/operation",
                        NOT_AN_OPERATION.format(
                            resource=resource.name,
                            target=transition.target,
                            operation=transition.operation,
                        ),
                    )
                )
    for index, magic in enumerate(spec.magic):
        found += [
            (
                pointer("x-sandbox", "magic", index, "operations", number),
                UNKNOWN_OPERATION.format(
                    magic=magic.description[:40], operation=name, known=", ".join(spec.operations)
                ),
            )
            for number, name in enumerate(magic.operations)
            if name not in spec.operations
        ]
    for op in spec.operations.values():
        found += _operation_problems(spec, op.operation_id)
    return found + _parent_problems(spec)


def _parent_problems(spec: ApiSpec) -> list[Problem]:
    """A child resource whose operations lack the path parameter its `parent.param` names."""
    found: list[Problem] = []
    for resource in spec.resources.values():
        parent = resource.parent
        if parent is None:
            continue
        ops = [op for op in spec.operations.values() if op.resource is resource]
        missing = [
            op
            for op in ops
            if parent.param not in {p["name"] for p in op.parameters if p.get("in") == "path"}
        ]
        if missing:
            allowed = {p["name"] for op in missing for p in op.parameters if p.get("in") == "path"}
            problem = PARENT_PARAM.format(
                child=resource.name,
                parent=parent.resource,
                operations=", ".join(op.operation_id for op in missing),
                param=parent.param,
                allowed=", ".join(sorted(allowed)) or "none",
            )
            found.append((pointer("x-resources", resource.name, "parent", "param"), problem))
    return found


def _operation_problems(spec: ApiSpec, operation_id: str) -> list[Problem]:
    op = spec.operations[operation_id]
    where = pointer("paths", op.path, op.method.lower())
    found = []
    if op.paging is not None and op.paging.limit_param is None:
        found.append((where + "/parameters", NO_LIMIT.format(operation=operation_id)))
    lifecycle = op.resource.lifecycle
    if op.target and not op.target_field and lifecycle and op.target not in lifecycle.states:
        problem = NOT_A_STATE.format(
            operation=operation_id, target=op.target, states=", ".join(lifecycle.states)
        )
        found.append((where + "/x-operation/target", problem))
    if op.role == "transition" and not op.transitions():
        found.append((where + "/x-operation", NO_TRANSITION.format(operation=operation_id)))
    return found
