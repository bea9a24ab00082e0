"""What a new user meets in the first five minutes: docs titles, docs that "Try it out" works
with, API roots that lead somewhere, the landing page's token rules, and RFC-correct 401s.

The same things as seen in a real browser: test_browser.py.
"""

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.docs import DOCS_TITLE
from mockserver.sandbox import TokenPolicy
from tests.mockserver.conftest import CONTROL, bearer, finhub_headers

SPECS = load_all()
NARROWING = ("x-filter", "x-page")


def _query_narrowing(document: dict) -> list[dict]:
    found = []
    for item in document["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                for written in op.get("parameters", []):
                    ref = written.get("$ref", "")
                    p = (
                        document["components"]["parameters"][ref.rsplit("/", 1)[1]]
                        if ref
                        else written
                    )
                    if any(k in p for k in NARROWING) and not p.get("required"):
                        found.append(p)
    return found


@pytest.mark.parametrize("api", sorted(SPECS))
def test_docs_are_titled_and_served_without_prefilled_filters(client: TestClient, api: str) -> None:
    spec = SPECS[api]
    base = f"/{api}{spec.base_path}"
    page = client.get(f"{base}/ui/")
    assert f"<title>{DOCS_TITLE.format(title=spec.title)}</title>" in page.text
    served = client.get(f"{base}/openapi.json").json()
    assert "captured" not in served["info"]["contact"]["name"]
    assert "seeds" not in served["info"]["contact"]["name"]
    narrowing = _query_narrowing(served)
    assert narrowing or not any(op.role == "list" for op in spec.operations.values())
    for parameter in narrowing:
        assert "example" not in parameter and "examples" not in parameter, parameter["name"]
        assert "example" not in parameter["schema"], parameter["name"]


def test_filter_examples_stay_readable_in_the_description(client: TestClient) -> None:
    served = client.get("/kontorion/openapi.json").json()
    listed = served["paths"]["/v1/customer-verifications"]["get"]["parameters"]
    after = next(p for p in listed if p.get("name") == "occurred_after")
    assert after["description"].endswith("Example: `2024-01-15T00:00:00Z`.")


def test_control_plane_docs_title_and_a_modest_clock_advance_example(client: TestClient) -> None:
    page = client.get(f"{CONTROL}/ui/")
    assert "<title>kyc-contracts mock control plane</title>" in page.text
    served = client.get(f"{CONTROL}/openapi.json").json()
    body = served["paths"]["/sandboxes/{sandbox}/clock/advance"]["post"]["requestBody"]
    seconds = body["content"]["application/json"]["schema"]["properties"]["seconds"]
    assert seconds["example"] <= 86400 < seconds["maximum"]


@pytest.mark.parametrize(
    ("path", "docs"),
    [
        ("/finx", "/finx/ui/"),
        ("/finx/", "/finx/ui/"),
        ("/kontorion", "/kontorion/ui/"),
        ("/finhub", "/finhub/api/v2.1/ui/"),
        ("/finhub/api/v2.1", "/finhub/api/v2.1/ui/"),
    ],
)
def test_an_api_root_redirects_to_its_docs(client: TestClient, path: str, docs: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == docs
    assert client.get(path).status_code == 200
    assert client.post(path).status_code != 302


def test_one_api_at_the_root_redirects_its_root_to_its_docs() -> None:
    with TestClient(create_app(api="finhub")) as client:
        for path in ("/", "/api/v2.1"):
            response = client.get(path, follow_redirects=False)
            assert response.headers["location"] == "/api/v2.1/ui/"
        assert client.get("/api/v2.1/ui/").status_code == 200


def test_landing_page_shows_the_configured_token_prefixes() -> None:
    policy = TokenPolicy(user_prefix="sk_test_", admin_prefix="sk_root_")
    with TestClient(create_app(policy=policy)) as client:
        page = client.get("/").text
    assert "Bearer sk_test_&lt;name&gt;" in page
    assert "sk_root_&lt;name&gt;" in page
    assert "test_&lt;name&gt;" not in page.replace("sk_test_&lt;name&gt;", "")


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/finx/v1/kyc", bearer("test_p401")),
        ("/kontorion/v1/customer-verifications", bearer("test_p401")),
        ("/finhub/api/v2.1/verifications/ver_abc123def456", finhub_headers("test_p401")),
    ],
)
def test_a_forced_401_carries_a_bearer_challenge(
    client: TestClient, url: str, headers: dict[str, str]
) -> None:
    response = client.get(url, headers={**headers, "Prefer": "code=401"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
