"""The test fixtures give real servers: PostgreSQL answers SQL and Chromium runs a page's script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text

PAGE = b"""<!doctype html>
<html><body>
<button id="go" onclick="document.getElementById('out').textContent = 'clicked'">Go</button>
<p id="out">waiting</p>
</body></html>
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    """A tiny page served from a thread on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_postgres_stores_and_reads_back(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as db:
            db.execute(text("CREATE TABLE probe (id integer PRIMARY KEY, name text NOT NULL)"))
            db.execute(text("INSERT INTO probe VALUES (1, 'spoof'), (2, 'layer')"))
        with engine.connect() as db:
            rows = db.execute(text("SELECT id, name FROM probe ORDER BY id")).all()
            version = db.execute(text("SELECT version()")).scalar_one()
            database = db.execute(text("SELECT current_database()")).scalar_one()
            db.execute(text("DROP TABLE probe"))
            db.commit()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "spoof"), (2, "layer")]
    assert "PostgreSQL" in version
    assert database == "tapewatch"


def test_browser_runs_the_page_script(browser: Browser, page_url: str) -> None:
    page = browser.new_page()
    try:
        page.goto(page_url)
        expect(page.locator("#out")).to_have_text("waiting")
        page.click("#go")
        expect(page.locator("#out")).to_have_text("clicked")
    finally:
        page.close()
