"""The first five minutes in a real browser (headless Chromium): docs titled after each API,
"Try it out" on the Kontorion list shows the record just created, the control plane's clock
advance starts at an hour, an API root leads to its docs, the landing page shows the token
prefixes in force."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.docs import DOCS_TITLE
from mockserver.sandbox import TokenPolicy
from mockserver.testing import serve_in_thread
from tests.mockserver.conftest import KONTORION_CUSTOMER
from tests.realcomponents import require_binary

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WAIT_S = 60
POLICY = TokenPolicy(user_prefix="sk_test_", admin_prefix="sk_root_")
SPECS = load_all()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(create_app(policy=POLICY)) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium = require_binary("chromium", "chromium")
    driver_path = require_binary("chromedriver", "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _find(driver: WebDriver, css: str) -> WebElement:
    return WebDriverWait(driver, WAIT_S).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _click(driver: WebDriver, css: str) -> None:
    element = WebDriverWait(driver, WAIT_S).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, css))
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def _try_it_out(driver: WebDriver, operation: str) -> WebElement:
    """Expand an operation and press "Try it out"; returns the operation's block."""
    block = f"[id$='-{operation}']"
    _click(driver, f"{block} .opblock-summary")
    _click(driver, f"{block} .try-out__btn")
    return _find(driver, block)


@pytest.mark.parametrize("api", sorted(SPECS))
def test_browser_docs_page_is_titled_after_its_api(browser: WebDriver, url: str, api: str) -> None:
    spec = SPECS[api]
    browser.get(f"{url}/{api}{spec.base_path}/ui/")
    _find(browser, ".swagger-ui .info .title")
    assert browser.title == DOCS_TITLE.format(title=spec.title)


def test_browser_api_root_leads_to_its_docs(browser: WebDriver, url: str) -> None:
    browser.get(f"{url}/finx")
    _find(browser, ".swagger-ui .info .title")
    assert browser.current_url == f"{url}/finx/ui/"
    assert browser.title == DOCS_TITLE.format(title=SPECS["finx"].title)


def test_browser_try_it_out_lists_the_record_just_created(browser: WebDriver, url: str) -> None:
    created = httpx.post(
        f"{url}/kontorion/v1/customer-verifications",
        headers={"Authorization": "Bearer sk_test_browser"},
        json={
            "customer_id": KONTORION_CUSTOMER,
            "verification_type": "kyc",
            "provider": "sandbox_pending",
            "check_type": "document",
        },
    )
    assert created.status_code == 201
    record_id = created.json()["data"]["id"]
    browser.get(f"{url}/kontorion/ui/")
    _find(browser, ".swagger-ui .info .title")
    browser.execute_script("window.ui.preauthorizeApiKey('bearerAuth', 'sk_test_browser')")
    block = _try_it_out(browser, "listCustomerVerifications")
    for name in ("occurred_after", "occurred_before", "customer_id", "cursor"):
        field = block.find_element(By.CSS_SELECTOR, f"tr[data-param-name='{name}'] input")
        assert field.get_attribute("value") == "", name
    _click(browser, "[id$='-listCustomerVerifications'] .execute")
    response = _find(browser, "[id$='-listCustomerVerifications'] .live-responses-table")
    WebDriverWait(browser, WAIT_S).until(lambda _: record_id in response.text)
    assert "200" in response.text


def test_browser_clock_advance_starts_at_an_hour(browser: WebDriver, url: str) -> None:
    browser.get(f"{url}/__mock/ui/")
    _find(browser, ".swagger-ui .info .title")
    assert browser.title == "kyc-contracts mock control plane"
    block = _try_it_out(browser, "advance_clock")
    body = block.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
    text = body.get_attribute("value") or ""
    assert '"seconds": 3600' in text
    assert "3153600000" not in text


def test_browser_landing_page_shows_the_token_prefixes(browser: WebDriver, url: str) -> None:
    browser.get(f"{url}/")
    text = _find(browser, "body").text
    assert "Bearer sk_test_<name>" in text
    assert "sk_root_<name>" in text


def test_browser_runs_on_this_machine(browser: WebDriver) -> None:
    assert Path(require_binary("chromium", "chromium")).exists()
    assert browser.capabilities["browserName"] in ("chrome", "chromium")
