"""Bench: first render of the Recommendations page with 10,000 recommendations, in Chromium.

`python bench/ui_bench.py` prints the figures; `run()` returns them:
ui_first_render_10k_s           click on "Recommendations" -> first page of the table drawn
ui_first_render_complete_10k_s  ... -> the script finished, incl. the total count under the table
ui_rerender_10k_s               the page opened again (the count is cached for 60 s)
ui_khmer_search_10k_s           a Khmer word typed in the search box -> filtered table and its count drawn
ui_dashboard_10k_s              the login -> the Dashboard drawn (figures, three charts, disagreements)
Each click waits until the page before has finished and the browser has drawn it.
Times are taken in the browser (``performance.now()``): from the click or key press to the first
animation frame after the awaited elements are in the page, found by a MutationObserver. Playwright's
own waits poll with a growing interval (up to 500 ms for a locator, 1 s for ``expect``) and would add
that to the figure: a table drawn after 0.53 s was reported at 0.87-0.97 s that way.
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


# Armed before the action: resolves with when the action happened and, for each condition, when it
# first held and the browser drew the next frame, all in the page's clock (milliseconds).
_ARM = """(conditions) => {
  const holds = ({selector, text, count, idle}) =>
    [...document.querySelectorAll(selector)].filter(e => !text || e.textContent.includes(text)).length >= count
    && !(idle && document.querySelector('[data-testid="stStatusWidget"]'));
  window.__uprTimed = new Promise(resolve => {
    const started = () => {
      document.removeEventListener('click', started, true);
      document.removeEventListener('keydown', started, true);
      const times = [performance.now()];
      const pending = new Set(conditions.keys());
      const check = () => {
        for (const i of [...pending]) {
          if (holds(conditions[i])) {
            pending.delete(i);
            requestAnimationFrame(() => {
              times[i + 1] = performance.now();
              if (times.filter(t => t).length > conditions.length) resolve(times);
            });
          }
        }
        if (!pending.size) observer.disconnect();
      };
      const observer = new MutationObserver(check);
      observer.observe(document, {subtree: true, childList: true, characterData: true});
      check();
    };
    document.addEventListener('click', started, true);
    document.addEventListener('keydown', started, true);
  });
}"""


def when(selector: str, *, text: str = "", count: int = 1, idle: bool = False) -> dict[str, Any]:
    """A condition for :func:`_timed`: ``count`` elements matching ``selector`` (holding ``text``),
    and, if ``idle``, the script finished (no running indicator)."""
    return {"selector": selector, "text": text, "count": count, "idle": idle}


def _timed(page: Any, action: Any, *conditions: dict[str, Any]) -> list[float]:
    """Seconds from ``action`` (a click or key press) until each condition held and was drawn."""
    page.evaluate(_ARM, list(conditions))
    action()
    started, *held = page.evaluate("() => window.__uprTimed")
    return [round((t - started) / 1000, 3) for t in held]


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
            drawn = [when("h1, h2, h3", text="Progress by theme"),
                     when("[data-testid=stVegaLiteChart]", count=3, idle=True)]
            dashboard = max(_timed(page, page.get_by_role("button", name="Log in").click, *drawn))
            _dashboard_drawn(page)
            nav = page.get_by_test_id("stSidebarNav")

            def open_recommendations() -> tuple[float, float]:
                # This page's table (its key), with rows in it: not a table of the page before; and the
                # total under it, with the script finished (complete: both).
                table, total = _timed(page, nav.get_by_role("link", name="Recommendations", exact=True).click,
                               when(".st-key-rec_table_1 [data-testid=stDataFrame] [role=gridcell]"),
                               when("[data-testid=stCaptionContainer]", text=f"{N} recommendation(s) match", idle=True))
                _settled(page)
                return table, max(table, total)

            first, complete = open_recommendations()
            nav.get_by_role("link", name="Dashboard", exact=True).click()
            _dashboard_drawn(page)
            again, _ = open_recommendations()
            box = page.get_by_label("Search text (English or Khmer)")
            box.fill("កុមារ")
            search, = _timed(page, lambda: box.press("Enter"),
                             when("[data-testid=stCaptionContainer]", text=f"{N // 4} recommendation(s) match"))
            browser.close()
        return {"ui_first_render_10k_s": first, "ui_first_render_complete_10k_s": complete,
                "ui_rerender_10k_s": again, "ui_khmer_search_10k_s": search, "ui_dashboard_10k_s": dashboard}
    finally:
        if ui is not None:
            ui.terminate()
            ui.wait(timeout=15)
        client.drop_database(name)
        client.close()


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28} {value}")
