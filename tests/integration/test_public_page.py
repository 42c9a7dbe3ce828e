"""The public progress page (ui/public/site.py) on a real read API (the tracker's HTTP app served by
uvicorn) and the real MongoDB-wire server: it shows what is published, and nothing else."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
import uvicorn
from pymongo import MongoClient
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from services.tracker.adapters.http import http_api
from services.tracker.settings import TrackerSettings
from tests.integration.test_read_api import evidence, rec

pytestmark = pytest.mark.integration
SITE = Path(__file__).resolve().parents[2] / "ui" / "public" / "site.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def published(mongodb_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri, tz_aware=True)
    db = client[f"test_public_{uuid.uuid4().hex[:8]}"]
    db.recommendations.insert_many([
        rec("KHM-4-110.23", text="Adopt the Child Protection Law"), rec("KHM-4-110.24", position="Noted"),
        rec("KHM-3-117.5", cycle=3, text="Unpublished cycle text"),
    ])
    db.evidence.insert_many([evidence("ev-public", "KHM-4-110.23"),
                             evidence("ev-coalition", "KHM-4-110.23", visibility="coalition")])
    db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(http_api(TrackerSettings(mongodb_uri=mongodb_uri, mongodb_db=db.name)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the read API did not start"
        time.sleep(0.05)
    monkeypatch.setenv("UPR_TRACKER_URL", f"http://127.0.0.1:{port}")
    try:
        yield db
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        client.drop_database(db.name)
        client.close()


def test_the_public_page_lists_only_published_supported_recommendations(published: Database[dict[str, Any]]) -> None:
    at = AppTest.from_file(str(SITE), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Cambodia's UPR commitments on child rights"
    assert at.subheader[0].value == "1 recommendation(s)"
    table = at.dataframe[0].value
    assert table["text"].tolist() == ["Adopt the Child Protection Law"]
    assert table["Public evidence"].tolist() == [1]  # the coalition-only item is not counted
    assert table["open"].tolist() == ["/recommendation?id=KHM-4-110.23"]


def test_the_public_page_in_khmer_and_with_nothing_published(published: Database[dict[str, Any]]) -> None:
    at = AppTest.from_file(str(SITE), default_timeout=30)
    at.query_params["lang"] = "ខ្មែរ"  # bound widgets write the option as shown
    at.run()
    assert at.title[0].value == "ការប្តេជ្ញាចិត្ត UPR របស់កម្ពុជាលើសិទ្ធិកុមារ"
    published.cycles.update_one({"_id": "KHM-4"}, {"$set": {"published": False}})
    st.cache_data.clear()  # the page caches the API's answers for 5 s
    at = AppTest.from_file(str(SITE), default_timeout=30).run()
    assert [i.value for i in at.info] == ["Nothing has been published yet."]
