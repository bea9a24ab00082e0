"""Prism-style `Prefer` overrides: `code=404`, `example=docs`, `delay=250` (RFC 7240 syntax)."""


def parse_prefer(header: str) -> dict[str, str]:
    """The `key=value` preferences of a `Prefer` header (quotes stripped, keys lower-cased)."""
    found: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key:
            found[key.strip().lower()] = value.strip().strip('"')
    return found
