"""The web UI in a real browser (headless Chromium driven by Playwright) against the service
run by uvicorn: an analyst logs in, looks at the dashboard and an alert's charts and labels
alerts with the keyboard; without a valid key nothing is shown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from servers import free_port
from workbench import Workbench, copy_store

from tapewatch.api.app import create_app
from tapewatch.api.service import ServiceSettings
from tapewatch.store.models import Role

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def base_url(workbench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on a copy of the workbench's store, served by uvicorn in a thread."""
    db = copy_store(workbench.db, tmp_path_factory.mktemp("browser"))
    app = create_app(ServiceSettings(db=db, lake=workbench.lake, model_dir=None))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail("the service did not start", pytrace=False)
        time.sleep(0.1)
    yield url
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context: no cookies."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def js_errors(page: Page) -> list[str]:
    """The page's script errors (a refused request is not one)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return errors


def log_in(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=api_key]", key)
    page.click("form[action='/login'] button[type=submit]")


def test_analyst_labels_alerts_from_the_queue_with_the_keyboard(
    page: Page, js_errors: list[str], base_url: str, workbench: Workbench
) -> None:
    key = workbench.keys[Role.ANALYST]
    log_in(page, base_url, key)
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("header")).to_contain_text("analyst-user")
    for chart in ("#by-typology", "#by-severity", "#instruments"):
        expect(page.locator(f"{chart} .main-svg").first).to_be_attached()

    # the queue: j moves down a row, Enter opens it
    page.click("nav >> text=Review queue")
    expect(page).to_have_url(f"{base_url}/queue")
    page.wait_for_selector("html[data-ready]", state="attached")
    rows = page.locator("table.queue tbody tr")
    second = rows.nth(1).get_attribute("data-href")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("selected")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base_url}{second}")
    first_id = str(second).rsplit("/", 1)[-1]
    expect(page.locator("#timeline .main-svg").first).to_be_attached()
    expect(page.locator("#features .main-svg").first).to_be_attached()
    expect(page.locator("#timeline .legend")).to_contain_text("placed")

    # c: confirm as the predicted typology, with a note typed first
    page.wait_for_selector("html[data-ready]", state="attached")
    page.fill("textarea[name=notes]", "layered orders pulled before the fill")
    page.locator("h2", has_text="Review").click()  # leave the text box: keys are shortcuts again
    page.keyboard.press("c")
    expect(page.locator("#review .flash.ok")).to_contain_text("Saved: closed confirmed")
    expect(page.locator("#status-badge")).to_have_text("closed confirmed")
    expect(page.locator("#review .history")).to_contain_text("analyst-user")

    # n: the next alert in the queue; e escalates it
    page.keyboard.press("n")
    expect(page).not_to_have_url(f"{base_url}{second}")
    second_id = page.url.rsplit("/", 1)[-1]
    page.wait_for_selector("html[data-ready]", state="attached")
    page.keyboard.press("e")
    expect(page.locator("#review .flash.ok")).to_contain_text("Saved: escalated")
    assert js_errors == []

    # what the browser did is in the store, and in the audit log under the analyst's name
    api = httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=10)
    confirmed = api.get(f"/api/v1/alerts/{first_id}").json()
    assert confirmed["status"] == "CLOSED_CONFIRMED"
    label = confirmed["labels"][0]
    assert label["is_manipulation"] is True
    assert label["manipulation_type"] == confirmed["manipulation_type"]
    assert label["notes"] == "layered orders pulled before the fill"
    assert label["labelled_by"] == "analyst-user"
    assert api.get(f"/api/v1/alerts/{second_id}").json()["status"] == "ESCALATED"
    audit = api.get("/api/v1/audit", params={"target": first_id}).json()
    assert [(a["actor"], a["action"]) for a in audit] == [("analyst-user", "alert.review")]
    assert audit[0]["detail"]["status_to"] == "CLOSED_CONFIRMED"


def test_a_browser_without_a_valid_key_sees_nothing(
    page: Page, js_errors: list[str], base_url: str, workbench: Workbench
) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login?next=%2F")
    expect(page.locator("input[name=api_key]")).to_be_visible()
    response = page.goto(f"{base_url}/api/v1/alerts")
    assert response is not None
    assert response.status == 401

    log_in(page, base_url, workbench.keys[Role.ANALYST][:-4] + "xxxx")
    expect(page.locator(".flash.error")).to_contain_text("not valid")
    page.goto(f"{base_url}/alerts")
    expect(page).to_have_url(f"{base_url}/login?next=%2Falerts")
    assert js_errors == []
