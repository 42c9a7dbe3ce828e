"""The public progress page at 10,000 recommendations (issue 16: "fast on 10,000"): the read API
(the tracker's HTTP app under uvicorn) and the public Streamlit page on the MongoDB-wire server,
timed in Chromium from opening the address to the drawn overview of the latest cycle (the first
visit after the page's server started, and the next one), and to a recommendation's own page.
As in production, the database has the tracker's indexes and the published projection the
tracker keeps from its events (rebuilt here one cycle at a time, timed too), and evidence: one item per
five recommendations, a third of them not public.

    python -m bench.public_bench          # UPR_BENCH_N=2000 for a quick run (the figures keep their names)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from bench.ui_bench import CHROMIUM_ARGS, MONGODB_URI, ROOT, _free_port, _recommendations, _settled, _wait_http
from services.tracker.adapters.mongo import INDEXES
from services.tracker.adapters.public_store import PublicProjectionStore
from ui.public.client import MAX_SHOWN

N = int(os.environ.get("UPR_BENCH_N", "10000"))
STATES = [("approved", "public"), ("approved", "public"), ("approved", "coalition"), ("pending", "public"),
          ("rejected", "public"), ("approved", "public")]

# The tracker's read API alone (no Kafka needed): what the public page reads.
READ_API = ("import sys, uvicorn; from services.tracker.adapters.http import http_api; "
            "from services.tracker.settings import TrackerSettings; "
            "uvicorn.run(http_api(TrackerSettings()), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')")


def run() -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=300_000)
    name = f"bench_public_{uuid.uuid4().hex[:8]}"
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True)
    db = client[name]
    api_port, page_port = _free_port(), _free_port()
    env = {**os.environ, "UPR_MONGODB_DB": name, "UPR_MONGODB_URI": MONGODB_URI, "UPR_ENV": "dev",
           "UPR_TRACKER_URL": f"http://127.0.0.1:{api_port}", "UPR_API_RATE_LIMIT": "100000/minute"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        docs = _recommendations(N)
        for start in range(0, N, 2_000):
            db.recommendations.insert_many(docs[start:start + 2_000])
        db.evidence.insert_many([{
            "_id": f"ev-{i}", "evidence_id": f"ev-{i}", "recommendation_ids": [docs[i * 5]["_id"]],
            "source_type": "law_decree", "title": f"Evidence {i}", "url": "https://example.org", "quote": "",
            "review_state": STATES[i % 6][0], "visibility": STATES[i % 6][1], "safeguarding_flags": [],
        } for i in range(N // 5)])
        for collection, specs in INDEXES.items():  # as the tracker creates them on start
            for keys, options in specs:
                db[collection].create_index(keys, **options)
        projected = asyncio.run(_project(name))
        db.cycles.insert_many([{"_id": f"KHM-{c}", "country": "KHM", "cycle": c, "published": True}
                               for c in range(1, 5)])
        processes.append(subprocess.Popen([sys.executable, "-c", READ_API, str(api_port)], cwd=ROOT, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "ui/public/site.py", "--server.port", str(page_port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_http(f"http://127.0.0.1:{api_port}/api/v1/themes")
        url = f"http://127.0.0.1:{page_port}"
        _wait_http(f"{url}/_stcore/health")
        latest = [d for d in docs if d["cycle"] == 4 and d["position"] == "Supported"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(300_000)
            started = time.perf_counter()
            page.goto(url)
            shown = min(len(latest), MAX_SHOWN)  # the page shows the first MAX_SHOWN and says there are more
            expect(page.get_by_role("heading", name=f"{shown} recommendation(s)")).to_be_visible()
            _settled(page)
            overview = time.perf_counter() - started
            started = time.perf_counter()
            page.goto(f"{url}/recommendation?id={latest[-1]['_id']}")
            expect(page.get_by_text(latest[-1]["text"][:30], exact=False).first).to_be_visible()
            _settled(page)
            detail = time.perf_counter() - started
            started = time.perf_counter()  # the next visitor: the page's server has run once already
            page.goto(url)
            expect(page.get_by_role("heading", name=f"{shown} recommendation(s)")).to_be_visible()
            _settled(page)
            again = time.perf_counter() - started
            browser.close()
        return {"public_page_10k_s": round(overview, 3), "public_recommendation_10k_s": round(detail, 3),
                "public_page_again_10k_s": round(again, 3),
                "public_projection_rebuild_10k_s": round(projected, 3)}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        client.drop_database(name)
        client.close()


async def _project(name: str) -> float:
    """The published projection of every cycle, as the tracker builds it on its first events."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGODB_URI, tz_aware=True)
    try:
        started = time.perf_counter()
        await PublicProjectionStore(client[name]).rebuild()
        return time.perf_counter() - started
    finally:
        await client.close()


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28} {value}")
