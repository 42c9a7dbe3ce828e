"""Issue 14 in a real browser: a reviewer uploads a coalition's spreadsheet whose columns are
no known format, maps them, saves the mapping as a profile, previews, imports; a second file
with the same columns is read with the profile by itself; `upr import --profile` reuses it.

Tracker, ingest and UI run as subprocesses on a fresh database and topic prefix."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import SHOTS, TIMEOUT_MS, Stack, log_in, open_page, running_stack, settle
from upr.cli import app as upr

pytestmark = pytest.mark.e2e

HEADER = ["Recommendation", "From", "Government answer", "Session"]
ROWS = [
    ["Adopt the draft Child Protection Law", "Sweden", "Accepted", "6"],
    ["Ensure free birth registration for all children", "Mexico", "Accepted", "6"],
    ["Raise the minimum age of marriage to 18", "Canada", "Noted", "6"],
    ["Establish a national hotline against online child sexual exploitation", "Australia", "Accepted", "6"],
    ["ធានាការចុះសំបុត្រកំណើតដោយឥតគិតថ្លៃ", "Thailand", "Accepted", "6"],
]
MAPPING = {"text": "Recommendation", "states": "From", "position": "Government answer", "session": "Session"}


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(("tracker", "ingest"), "e2e-import") as running:
        yield running


def metric(page: Any, label: str) -> Any:
    return page.get_by_test_id("stMetric").filter(has_text=label)


def upload_and_preview(page: Any, path: Path) -> None:

    page.locator("input[type='file']").set_input_files(str(path))
    settle(page)
    page.get_by_role("button", name="Preview", exact=True).click()
    settle(page)


@pytest.fixture
def page(stack: Stack, browser: Any) -> Iterator[Any]:
    page = log_in(browser, stack.url, "reviewer")
    try:
        yield page
    finally:  # what the page showed, for a failure's diagnosis
        shots = SHOTS
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "import-profiles.png"), full_page=True)


def test_a_mapped_layout_saved_as_a_profile_reads_the_next_file_by_itself(
    stack: Stack, page: Any, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    open_page(page, "Import")
    upload_and_preview(page, _csv(tmp_path / "coalition sheet.csv", ROWS[:3]))
    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    for field, column in MAPPING.items():
        box = page.get_by_test_id("stSelectbox").filter(has_text=re.compile(rf"^{field}( \(required\))?:"))
        box.get_by_role("combobox").click()
        page.keyboard.type(column)
        page.keyboard.press("Enter")
        settle(page)
    page.get_by_label("Profile name").fill("Coalition sheet")
    page.get_by_role("button", name="Save profile and preview").click()
    settle(page)
    expect(page.get_by_role("heading", name="Preview: nothing is stored yet")).to_be_visible()
    expect(metric(page, "Would create")).to_contain_text("3")
    expect(page.get_by_text("The first rows as they would be stored:")).to_be_visible()
    assert stack.db.recommendations.count_documents({}) == 0  # a preview stores nothing
    page.get_by_role("button", name="Import", exact=True).click()
    settle(page)
    expect(page.get_by_role("heading", name="Import report")).to_be_visible(timeout=TIMEOUT_MS * 4)
    expect(metric(page, "Imported")).to_contain_text("3")

    # The same columns again: read with the profile, no mapping step; one row is already held.
    upload_and_preview(page, _csv(tmp_path / "coalition sheet, March.csv", ROWS[2:]))
    expect(page.get_by_text("Read with the mapping profile Coalition sheet.").first).to_be_visible()
    expect(metric(page, "Would create")).to_contain_text("2")
    expect(metric(page, "Unchanged")).to_contain_text("1")
    page.get_by_role("button", name="Import", exact=True).click()
    settle(page)
    expect(metric(page, "Imported")).to_contain_text("2", timeout=TIMEOUT_MS * 4)
    assert stack.db.recommendations.count_documents({}) == 5
    assert stack.db.recommendations.find_one({"recommending_states.name": "Thailand"})["text"] == ROWS[4][0]

    # The profile the page saved, used by the command line.
    env = {k: stack.env[k] for k in ("UPR_MONGODB_DB", "UPR_MONGODB_URI", "UPR_KAFKA_BOOTSTRAP", "UPR_TOPIC_PREFIX",
                                     "UPR_TRACKER_URL")}  # it asks the tracker for the receipts
    result = CliRunner().invoke(upr, ["import", str(tmp_path / "coalition sheet.csv"), "--profile", "Coalition sheet",
                                      "--dry-run", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["profile"], report["format"], report["imported"]) == ("Coalition sheet", "mapped_csv", 3)
