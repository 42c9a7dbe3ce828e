"""Stable addresses of evidence items, report sections and review items (issue 15), and the
Recommendations table opening a recommendation on a row click: AppTests on a real MongoDB-wire database."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from tests.integration.ui.conftest import app, evidence_doc, page

pytestmark = pytest.mark.integration

REC = "KHM-4-110.24"


def _text(at: Any) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [e.value for e in at.error]
    return " ".join(str(p) for p in parts)


def _titles_in_order(at: Any, titles: list[str]) -> list[str]:
    """The given evidence titles in the order the page shows them."""
    shown = [m.value for m in at.markdown]
    return [title for line in shown for title in titles if title in line]


@pytest.fixture(scope="module")
def evidence(ui_db: Database[dict[str, Any]]) -> dict[str, str]:
    items = {
        "older": evidence_doc("ev-older0001", REC, by="reviewer", role="reviewer", visibility="public",
                              title="Civil registration sub-decree"),
        "linked": evidence_doc("ev-linked001", REC, by="reviewer", role="reviewer", visibility="public",
                               title="Birth certificates free of charge"),
        "coalition": evidence_doc("ev-coalit001", REC, by="cso", role="cso_member", visibility="coalition",
                                  title="Coalition field notes"),
        "pending": evidence_doc("ev-pendin001", REC, by="cso", role="cso_member", review_state="pending",
                                title="Campaign in five provinces"),
        "pending2": evidence_doc("ev-pendin002", REC, by="cso", role="cso_member", review_state="pending",
                                 title="Mobile registration teams"),
    }
    ui_db.evidence.insert_many(list(items.values()))
    return {name: doc["evidence_id"] for name, doc in items.items()}


def test_an_evidence_link_opens_the_recommendation_with_that_item_first_and_marked(
    ui_db: Database[dict[str, Any]], evidence: dict[str, str]
) -> None:
    titles = ["Civil registration sub-decree", "Birth certificates free of charge"]
    plain = page("detail", "viewer", id=REC)
    assert "The item this link points to" not in _text(plain)
    at = page("detail", "viewer", id=REC, evidence=evidence["linked"])
    assert not at.exception
    assert [s.value for s in at.subheader][:1] == [REC]
    assert _titles_in_order(at, titles)[0] == "Birth certificates free of charge"
    assert "The item this link points to" in _text(at)
    # Every item shows its own stable address.
    assert f"/detail?id={REC}&evidence={evidence['older']}" in _text(at)


def test_an_evidence_link_the_role_may_not_open_says_so_and_an_unknown_one_says_it_is_not_there(
    ui_db: Database[dict[str, Any]], evidence: dict[str, str]
) -> None:
    viewer = page("detail", "viewer", id=REC, evidence=evidence["coalition"])
    assert "Your role (viewer) cannot open this evidence item." in _text(viewer)
    assert "Coalition field notes" not in _text(viewer)
    cso = page("detail", "cso", id=REC, evidence=evidence["coalition"])
    assert "Coalition field notes" in _text(cso) and "cannot open" not in _text(cso)
    unknown = page("detail", "viewer", id=REC, evidence="ev-nothere01")
    assert "No evidence item “ev-nothere01” on this recommendation." in _text(unknown)


def test_picking_another_recommendation_drops_the_evidence_from_the_address(
    ui_db: Database[dict[str, Any]], evidence: dict[str, str]
) -> None:
    at = page("detail", "viewer", id=REC, evidence=evidence["linked"])
    at.selectbox(key="detail_pick").set_value("KHM-4-110.23").run()
    assert "evidence" not in at.query_params
    assert "The item this link points to" not in _text(at)


def test_a_review_item_link_puts_that_item_first_and_a_decided_one_says_so(
    ui_db: Database[dict[str, Any]], evidence: dict[str, str]
) -> None:
    titles = ["Campaign in five provinces", "Mobile registration teams"]
    assert _titles_in_order(page("review_inbox", "reviewer"), titles) == titles  # oldest first
    at = page("review_inbox", "reviewer", item=evidence["pending2"])
    assert _titles_in_order(at, titles) == ["Mobile registration teams", "Campaign in five provinces"]
    assert "The item this link points to" in _text(at)
    assert "Waiting for your decision: 2 evidence item(s)" in _text(at)
    decided = page("review_inbox", "reviewer", item=evidence["linked"])
    assert "“Birth certificates free of charge” is no longer waiting: approved." in _text(decided)
    assert "No review item “nothing-here” is waiting." in _text(page("review_inbox", "reviewer", item="nothing-here"))
    assert "cannot open this page" in _text(page("review_inbox", "viewer", item=evidence["pending2"]))


def test_a_report_section_link_opens_that_cycle_and_section(ui_db: Database[dict[str, Any]]) -> None:
    at = page("report", "reviewer", cycle="3", section="T05")
    assert not at.exception
    assert at.selectbox(key="report_cycle").value == 3
    assert at.selectbox(key="report_section").value == "gaps:T05"
    assert "/report?cycle=3&section=gaps%3AT05" in _text(at)
    at.selectbox(key="report_section").set_value("asks:T05").run()
    assert at.query_params["section"] in ("asks:T05", ["asks:T05"])  # the address follows the choice
    assert "No report section “T99”." in _text(page("report", "reviewer", cycle="4", section="T99"))


def test_clicking_a_row_of_the_recommendations_table_opens_its_detail_page(ui_db: Database[dict[str, Any]]) -> None:
    at = app("viewer").switch_page("../pages/recommendations.py").run()
    table = at.dataframe[0].value
    row = table["id"].tolist().index(REC)
    # What the browser sends when a row is clicked (the table's selection event).
    at.session_state["rec_table_1"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert [s.value for s in at.subheader][:1] == [REC]
    assert at.query_params["id"] in (REC, [REC])
