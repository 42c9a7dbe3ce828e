"""Bench: first render of the Recommendations page with 10,000 recommendations, in Chromium.

`python bench/ui_bench.py` prints the figures; `run()` returns them:
ui_first_render_10k_s           click on "Recommendations" -> first page of the table drawn
ui_first_render_complete_10k_s  ... -> the script finished, incl. the total count under the table
ui_rerender_10k_s               the page opened again (the count is cached for 60 s)
ui_khmer_search_10k_s           a Khmer word typed in the search box -> filtered table and its count drawn
ui_dashboard_10k_s              the login -> the Dashboard drawn (figures, three charts, disagreements)
Each click waits until the page before has finished and the browser has drawn it.
Data: 10,000 recommendations in the tracker's document shape, inserted directly into a fresh
database (the bench measures the UI, not the tracker), a quarter with Khmer text.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymongo import MongoClient

from contracts.settings import CommonSettings
from ui.auth import DEMO_USERS, ensure_demo_users
from upr.commands.dashboard import rebuild as rebuild_dashboard

ROOT = Path(__file__).resolve().parents[1]
N = 10_000
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STATES = ["Sweden", "France", "Japan", "Norway", "Thailand", "Uruguay", "Viet Nam", "Germany", "Chile", "Kenya"]
STATUSES = [None, "not_started", "in_progress", "partially_implemented", "fully_implemented"]
PHRASES = ["Adopt the Child Protection Law", "Strengthen birth registration", "End corporal punishment",
           "Prevent online child sexual exploitation", "Raise the minimum age of marriage to 18",
           "Ensure inclusive education for children with disabilities", "Combat trafficking in children"]


def _recommendations(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    docs = []
    for i in range(n):
        cycle = 1 + i % 4
        rec_id = f"KHM-{cycle}-{100 + i // 100}.{i % 100 + 1}"
        themes = sorted({f"T{rng.randint(1, 19):02d}" for _ in range(rng.randint(0, 3))})
        cso, cncc = rng.choice(STATUSES), rng.choice(STATUSES)
        docs.append({
            "_id": rec_id, "recommendation_id": rec_id, "country": "KHM", "cycle": cycle, "session": 6 + 12 * cycle,
            "document_symbol": f"A/HRC/{13 + cycle}/4", "paragraph": rec_id.split("-", 2)[2],
            "text": f"{rng.choice(PHRASES)} ({i}) and report on progress in the next cycle.",
            "text_km": "អនុម័តច្បាប់ស្តីពីកិច្ចការពារកុមារ" if i % 4 == 0 else None,
            "recommending_states": [{"code": s[:3].upper(), "name": s} for s in rng.sample(STATES, 2)],
            "position": "Supported" if rng.random() < 0.85 else "Noted", "version": 1,
            "child_related": bool(themes), "themes": themes,
            "theme_tags": [{"id": t, "confidence": 0.7, "explanation": "bench", "source": "tagger"} for t in themes],
            "cso_status": cso, "cncc_status": cncc, "disagreement": bool(cso and cncc and cso != cncc),
            "evidence_count": rng.randint(0, 3), "created_at": now, "updated_at": now,
        })
    return docs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def _settled(page: Any) -> None:
    """The script has finished (no running indicator) and the browser has drawn what it sent:
    a click before that waits for the browser, and would be counted against the next page."""
    page.wait_for_timeout(100)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    page.evaluate("() => new Promise(done => requestIdleCallback(() => done(), {timeout: 30000}))")


def _dashboard_drawn(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Progress by theme")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(3)
    _settled(page)


def run() -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)

    name = f"bench_ui_{uuid.uuid4().hex[:8]}"
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True)
    db = client[name]
    port = _free_port()
    env = {**os.environ, "UPR_MONGODB_DB": name, "UPR_MONGODB_URI": MONGODB_URI}
    ui = None
    try:
        docs = _recommendations(N)
        for start in range(0, N, 2_000):
            db.recommendations.insert_many(docs[start:start + 2_000])
        db.recommendations.create_index([("cycle", -1), ("_id", 1)])
        # Data stored behind the tracker's back, as after a restore: summarised once, as an
        # operator would (`upr dashboard rebuild`), so the Dashboard reads its summaries.
        asyncio.run(rebuild_dashboard(CommonSettings(mongodb_uri=MONGODB_URI, mongodb_db=name)))
        ensure_demo_users(db)
        username, _, password, _ = DEMO_USERS[0]
        ui = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "ui/app.py", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/_stcore/health")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_label("Username", exact=True).fill(username)
            page.get_by_label("Password", exact=True).fill(password)
            started = time.perf_counter()
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            _dashboard_drawn(page)
            dashboard = time.perf_counter() - started
            nav = page.get_by_test_id("stSidebarNav")

            def open_recommendations() -> tuple[float, float]:
                started = time.perf_counter()
                nav.get_by_role("link", name="Recommendations", exact=True).click()
                # This page's table (its key), with rows in it: not a table of the page before.
                page.locator(".st-key-rec_table_1 [data-testid=stDataFrame] [role=gridcell]").first.wait_for(
                    state="attached")
                drawn = time.perf_counter() - started
                expect(page.get_by_text(f"{N} recommendation(s) match")).to_be_visible()
                _settled(page)
                return drawn, time.perf_counter() - started

            first, complete = open_recommendations()
            nav.get_by_role("link", name="Dashboard", exact=True).click()
            _dashboard_drawn(page)
            again, _ = open_recommendations()
            started = time.perf_counter()
            box = page.get_by_label("Search text (English or Khmer)")
            box.fill("កុមារ")
            box.press("Enter")
            expect(page.get_by_text(f"{N // 4} recommendation(s) match")).to_be_visible()
            search = time.perf_counter() - started
            browser.close()
        return {"ui_first_render_10k_s": round(first, 3), "ui_first_render_complete_10k_s": round(complete, 3),
                "ui_rerender_10k_s": round(again, 3), "ui_khmer_search_10k_s": round(search, 3),
                "ui_dashboard_10k_s": round(dashboard, 3)}
    finally:
        if ui is not None:
            ui.terminate()
            ui.wait(timeout=15)
        client.drop_database(name)
        client.close()


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28} {value}")
