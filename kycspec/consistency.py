"""Cross-references between the extensions, checked once at load time.

A typo in an operation id or an error kind would otherwise load fine and leave a transition, a
magic value or an error code silently dead.
"""

from kycspec.model import ApiSpec


def problems(spec: ApiSpec) -> list[str]:
    """Everything in the spec's extensions that names something that does not exist."""
    found: list[str] = []
    for resource in spec.resources.values():
        lifecycle = resource.lifecycle
        if lifecycle is None:
            continue
        for transition in lifecycle.transitions:
            op = spec.operations.get(transition.operation or "")
            if transition.operation and (op is None or op.resource is not resource):
                found.append(
                    f"{resource.name}: transition to {transition.target!r} names "
                    f"{transition.operation!r}, not an operation of this resource"
                )
    for magic in spec.magic:
        found += [
            f"magic {magic.description[:40]!r} names unknown operation {name!r}"
            for name in magic.operations
            if name not in spec.operations
        ]
    for op in spec.operations.values():
        found += _operation_problems(spec, op.operation_id)
        parent = op.resource.parent
        path_params = {p["name"] for p in op.parameters if p.get("in") == "path"}
        if parent is not None and parent.param not in path_params:
            found.append(
                f"{op.operation_id}: each {op.resource.name} lives under its "
                f"{parent.resource}; its path needs the parameter {parent.param!r}"
            )
    return found


def _operation_problems(spec: ApiSpec, operation_id: str) -> list[str]:
    op = spec.operations[operation_id]
    found = []
    if op.paging is not None and op.paging.limit_param is None:
        found.append(f"{operation_id}: pages need a parameter marked x-page: limit")
    lifecycle = op.resource.lifecycle
    if op.target and not op.target_field and lifecycle and op.target not in lifecycle.states:
        found.append(f"{operation_id}: target {op.target!r} is not a state")
    if op.role == "transition" and not op.transitions():
        found.append(f"{operation_id}: a transition operation no lifecycle transition names")
    return found
