"""docs/requirements.md is the generated catalogue, and stays up to date."""

from pathlib import Path

from conformance.cli import catalogue_text
from kycspec.loader import load_all

DOC = Path(__file__).resolve().parents[2] / "docs" / "requirements.md"


def test_docs_requirements_md_is_up_to_date() -> None:
    expected = catalogue_text(load_all(), "markdown")
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/requirements.md is stale: run `conformance requirements --format markdown "
        "> docs/requirements.md`"
    )
