"""The workspace's stable addresses (issue 15): what alerts link to and what the UI's pages read.

The notifier writes these addresses into emails, digests and webhook bodies; the UI's pages read
the same query parameters. Both sides build and read them here, so a link keeps landing.

- ``/detail?id=<recommendation id>``: a recommendation;
- ``/detail?id=<recommendation id>&evidence=<evidence id>``: one evidence item, shown first;
- ``/report?cycle=<n>&section=<section or theme id>``: a section of the mid-term report;
- ``/review?item=<evidence id or hold id>``: one item of the Review inbox, shown first.

``base`` is the UI's public address (``UPR_PUBLIC_UI_URL``); an empty base gives an address
relative to the site (``/detail?id=...``), for links inside the UI itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

DETAIL_PATH = "detail"
REPORT_PATH = "report"
REVIEW_PATH = "review"

RECOMMENDATION_PARAM = "id"
EVIDENCE_PARAM = "evidence"
CYCLE_PARAM = "cycle"
SECTION_PARAM = "section"
REVIEW_ITEM_PARAM = "item"


def _address(base: str, path: str, query: dict[str, str]) -> str:
    return f"{base.rstrip('/')}/{path}?{urlencode(query)}"


def recommendation_address(base: str, recommendation_id: str, evidence_id: str | None = None) -> str:
    query = {RECOMMENDATION_PARAM: recommendation_id}
    if evidence_id:
        query[EVIDENCE_PARAM] = evidence_id
    return _address(base, DETAIL_PATH, query)


def report_section_address(base: str, cycle: int, section: str | None = None) -> str:
    query = {CYCLE_PARAM: str(cycle)}
    if section:
        query[SECTION_PARAM] = section
    return _address(base, REPORT_PATH, query)


def review_item_address(base: str, item_id: str) -> str:
    return _address(base, REVIEW_PATH, {REVIEW_ITEM_PARAM: item_id})
