"""The spec model: OpenAPI files plus the `x-` extensions documented in specs/README.md.

Both the mock server and the conformance suite read the specs through this package, so they
agree on what every extension means.
"""

from kycspec.lifecycle import Lifecycle, Transition
from kycspec.loader import SPECS_DIR, load_all, load_spec
from kycspec.model import ApiSpec, Operation, Resource

__all__ = [
    "SPECS_DIR",
    "ApiSpec",
    "Lifecycle",
    "Operation",
    "Resource",
    "Transition",
    "load_all",
    "load_spec",
]
