"""The console in a real headless browser: Debian's chromium, driven by its chromedriver (Selenium).

Sign in, search, read the timeline: a paid invoice is done everywhere, a dead-lettered one says
dead with its error and the DLQ shows it. Screenshots of each step are kept in the test's tmp dir.
``make test`` installs chromium and chromium-driver (``make browser``) before it runs this.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from billing_testing.queues import QueueReader

WAIT_SECONDS = 15


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("Debian's chromium and chromium-driver are needed: `make browser` installs them")
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    service = Service(executable_path=driver, log_output=str(tmp_path / "chromedriver.log"))
    session = webdriver.Chrome(options=options, service=service)
    try:
        yield session
    finally:
        session.quit()


class Console:
    """What an operator does on the page, with a screenshot after each step."""

    def __init__(self, browser: WebDriver, url: str, shots: Path) -> None:
        self.browser, self.url, self.shots = browser, url, shots
        self.wait = WebDriverWait(browser, WAIT_SECONDS)
        self.step = 0

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        assert self.browser.save_screenshot(str(path))
        return path

    def text(self, css: str) -> str:
        return str(
            self.wait.until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))).text
        )

    def sign_in(self, key: str) -> None:
        field = self.browser.find_element(By.ID, "key")
        field.clear()
        field.send_keys(key)
        self.browser.find_element(By.CSS_SELECTOR, "#login button").click()

    def search(self, query: str) -> None:
        box = self.wait.until(expected_conditions.element_to_be_clickable((By.ID, "q")))
        box.clear()
        box.send_keys(query)
        old = self.browser.find_element(By.TAG_NAME, "main")
        self.browser.find_element(By.ID, "search").click()
        self.wait.until(expected_conditions.staleness_of(old))


def test_search_timeline_and_status_of_a_paid_and_a_dead_lettered_invoice(
    browser: WebDriver,
    ingest_url: str,
    tokens: dict[str, str],
    paid_and_dead: dict[str, Any],
    queues: QueueReader,
    tmp_path: Path,
) -> None:
    issued = paid_and_dead["dead"][1]
    queues.sqs.send_message(  # the dead event in ERPNext's DLQ, as the consumer runtime puts it there
        QueueUrl=queues.url("erpnext", dlq=True),
        MessageBody=issued.body(),
        MessageGroupId=issued.customer_id,
        MessageDeduplicationId=issued.event_id,
        MessageAttributes={"dead_reason": {"DataType": "String", "StringValue": "PermanentError: 417"}},
    )
    shots = tmp_path / "screenshots"
    shots.mkdir()
    console = Console(browser, ingest_url, shots)

    browser.get(f"{ingest_url}/console")
    assert "Sign in" in console.text("#login h1")
    console.sign_in("not-a-key")
    assert console.text("#login-error") == "That key is not accepted."
    console.shot("refused-key")
    console.sign_in(tokens["api"])
    assert console.text("#dlq-erpnext") == "1"
    assert [console.text(f"#dlq-{i}") for i in ("xendit", "chartmogul", "mautic")] == ["0", "0", "0"]
    console.shot("signed-in")

    console.search("inv_paid")
    assert console.text("#timeline h2") == "Timeline of invoice inv_paid"
    for integration in ("xendit", "erpnext", "chartmogul", "mautic"):
        assert console.text(f"#summary-{integration} .status") == "done"
    payment = paid_and_dead["paid"][3]
    assert "payment.succeeded" in console.text(f"#row-{payment.event_id}")
    console.shot("paid-invoice")

    console.search("inv_dead")
    assert console.text("#timeline h2") == "Timeline of invoice inv_dead"
    assert console.text("#summary-erpnext .status") == "dead"
    assert "Customer cus_1 not found" in console.text("#summary-erpnext .error-text")
    assert console.text("#summary-chartmogul .status") == "retrying"
    assert "dead" in console.text(f"#row-{issued.event_id}")
    console.shot("dead-lettered-invoice")

    # From the Xendit payment id to the event, and its own status in each integration.
    console.search("py-paid")
    assert console.text("#timeline h2") == "Timeline of Xendit id py-paid"
    old = browser.find_element(By.TAG_NAME, "main")
    browser.find_element(By.CSS_SELECTOR, f"#row-{payment.event_id} a.id").click()
    console.wait.until(expected_conditions.staleness_of(old))
    assert payment.event_id in console.text("#event h2")
    assert console.text("#event-erpnext .status") == "done"
    console.shot("payment-event")

    browser.find_element(By.CSS_SELECTOR, "a.signout").click()
    assert "Sign in" in console.text("#login h1")
    console.shot("signed-out")

    pictures = sorted(shots.glob("*.png"))
    assert len(pictures) == 6
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 5000 for p in pictures)


def test_graphiql_runs_from_the_ingests_own_files(
    browser: WebDriver, ingest_url: str, tmp_path: Path
) -> None:
    browser.get(f"{ingest_url}/graphql")
    WebDriverWait(browser, WAIT_SECONDS).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-container"))
    )
    assert browser.save_screenshot(str(tmp_path / "graphiql.png"))
    assert "your API key" in browser.page_source  # the Headers tab, ready for the key
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (r) { return r.name; });"
    )
    assert loaded
    assert all(str(url).startswith(ingest_url) for url in loaded), loaded
