"""What the browser tests share: Debian Chromium driven by Playwright, logging in, moving between
Streamlit pages, waiting for a script run to finish, and small process helpers.

Playwright is launched with ``executable_path=/usr/bin/chromium`` (never ``playwright install``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from contracts.kafka_access import ensure_topics
from contracts.topics import Topics
from tests.kafka_harness import admin_settings
from ui.auth import DEMO_USERS, ensure_demo_users

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {name: password for name, _, password, _ in DEMO_USERS}
TIMEOUT_MS = 30_000
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
# Copied here with UPR_UPDATE_SCREENSHOTS=1: the README shows these.
DOCS_SHOTS = ROOT / "docs" / "screenshots"
VENV = ROOT / ".venv" / "bin"
KAFKA = os.environ.get("UPR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 90.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 300:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class Stack:
    url: str  # the UI
    env: dict[str, str]  # what the services run with (for `upr` against the same stack)
    db: Database[dict[str, Any]]
    topics: Topics


@contextmanager
def running_stack(services: tuple[str, ...], log_name: str,
                  seed: Callable[[Database[dict[str, Any]], Topics], None] | None = None) -> Iterator[Stack]:
    """Fresh topics and database, the FastStream ``services`` and the UI as real processes (one
    stack a test module: its tests share it). ``seed`` runs once the services answer, before the UI."""
    name = f"test_e2e_{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix=f"e2e{uuid.uuid4().hex[:8]}.")
    ports = {service: free_port() for service in (*services, "ui")}
    env = {**os.environ, "UPR_MONGODB_DB": name, "UPR_MONGODB_URI": MONGODB_URI, "UPR_KAFKA_BOOTSTRAP": KAFKA,
           "UPR_TOPIC_PREFIX": topics.prefix, "UPR_TRACKER_URL": f"http://127.0.0.1:{ports.get('tracker', 9)}",
           "UPR_INGEST_URL": f"http://127.0.0.1:{ports.get('ingest', 9)}", "PYTHONUNBUFFERED": "1",
           "UPR_UI_SESSION_SECRET": "e2e-session-secret"}
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True)
    logs = ROOT / "test-artifacts" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []

    def start(service: str, command: list[str]) -> subprocess.Popen[bytes]:
        with open(logs / f"{log_name}-{service}.log", "wb") as log:
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        return processes[-1]

    try:
        asyncio.run(ensure_topics(admin_settings(KAFKA), topics))
        started = {service: start(service, [str(VENV / "faststream"), "run", f"services.{service}.app:app",
                                            "--host", "127.0.0.1", "--port", str(ports[service])])
                   for service in services}
        for service, process in started.items():
            wait_http(f"http://127.0.0.1:{ports[service]}/health", process=process)
        if seed is not None:
            seed(client[name], topics)
        ensure_demo_users(client[name])
        ui = start("ui", [str(VENV / "streamlit"), "run", "ui/app.py", "--server.port", str(ports["ui"]),
                          "--server.headless", "true", "--server.address", "127.0.0.1",
                          "--browser.gatherUsageStats", "false"])
        wait_http(f"http://127.0.0.1:{ports['ui']}/_stcore/health", process=ui)
        yield Stack(f"http://127.0.0.1:{ports['ui']}", env, client[name], topics)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        client.drop_database(name)
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as page loads may take on a busy 2-core machine (default: 5 s).
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def settle(page: Any) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)


def log_in(browser: Any, url: str, username: str, **context: Any) -> Any:
    """A new page (in its own browser context: a fresh Streamlit session), logged in as ``username``."""
    from playwright.sync_api import expect

    # A context of its own (a fresh browser profile: no session cookie); more tabs: page.context.new_page().
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB", **context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    wait_for_session_cookie(page)
    return page


def wait_for_session_cookie(page: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The login cookie, once the page's request to /session/start has set it (right after a login)."""
    deadline = time.monotonic() + timeout
    while True:
        cookie = next((c for c in page.context.cookies() if c["name"] == "upr_session"), None)
        if cookie is not None:
            return dict(cookie)
        assert time.monotonic() < deadline, "the login did not set the session cookie"
        page.wait_for_timeout(100)


def open_page(page: Any, title: str) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible()
    settle(page)


def open_detail(page: Any, rec_id: str) -> None:
    """The detail page of one recommendation, opened by its address (the session cookie keeps the login)."""
    from urllib.parse import quote, urlsplit

    from playwright.sync_api import expect

    base = urlsplit(page.url)
    page.goto(f"{base.scheme}://{base.netloc}/detail?id={quote(rec_id)}")
    expect(page.get_by_role("heading", name=rec_id)).to_be_visible()
    settle(page)


def shoot(page: Any, name: str) -> None:
    settle(page)
    # Widgets whose code is still loading show a placeholder (a grey bar): wait for them all.
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=TIMEOUT_MS)
    shot = SHOTS / f"{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("UPR_UPDATE_SCREENSHOTS") == "1":
        (DOCS_SHOTS / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_SHOTS / f"{name}.png")
