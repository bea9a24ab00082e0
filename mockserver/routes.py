"""Request paths matched against an OpenAPI document's path templates (OpenAPI 3.0.3,
Paths Object: `{name}` matches one path segment)."""

import re


def path_pattern(base_path: str, template: str) -> re.Pattern[str]:
    """The request paths `base_path + template` matches, with or without a trailing slash."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base_path + template))
    return re.compile(f"^{pattern}/?$")
