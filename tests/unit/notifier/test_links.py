"""Links into the UI (issue 15) and the webhook body as a partner of each audience sees it."""

from __future__ import annotations

import json

from services.notifier.domain.alerts import COALITION, PUBLIC
from services.notifier.domain.links import alert_url, evidence_links, recommendation_url, webhook_body

ENVELOPE = json.dumps({"event_id": "e-1", "type": "evidence.added", "actor": {"username": "sophea",
                       "role": "cso_member"}, "payload": {"evidence_id": "ev-1", "title": "ច្បាប់"}})


def test_issue15_alerts_link_to_the_uis_stable_detail_address() -> None:
    assert recommendation_url("https://upr.example.org/", "KHM-4-110.23") == \
        "https://upr.example.org/detail?id=KHM-4-110.23"


def test_row4_a_public_partner_gets_no_actor_and_every_partner_gets_the_links() -> None:
    links = {"KHM-4-110.23": "https://upr.example.org/detail?id=KHM-4-110.23"}
    public = json.loads(webhook_body(ENVELOPE, PUBLIC, links))
    assert public["actor"] is None and public["payload"]["title"] == "ច្បាប់"
    assert public["links"] == {"recommendations": links}
    coalition = json.loads(webhook_body(ENVELOPE, COALITION, links))
    assert coalition["actor"]["username"] == "sophea"


EVIDENCE_ALERT = {"kind": "new_evidence", "recommendation_ids": ["KHM-4-110.23", "KHM-4-110.24"],
                  "details": {"title": "ច្បាប់", "evidence_id": "ev-1 a&b"}}


def test_issue15_an_evidence_alert_links_to_the_evidence_item_on_its_recommendations_page() -> None:
    assert alert_url("https://upr.example.org", EVIDENCE_ALERT) == \
        "https://upr.example.org/detail?id=KHM-4-110.23&evidence=ev-1+a%26b"
    status = {"kind": "status_change", "recommendation_ids": ["KHM-4-110.23"], "details": {"after": "x"}}
    assert alert_url("https://upr.example.org", status) == "https://upr.example.org/detail?id=KHM-4-110.23"
    assert alert_url("https://upr.example.org", {"kind": "deadline", "details": {}}) == "https://upr.example.org"


def test_issue15_a_webhook_about_new_evidence_carries_the_evidence_items_address() -> None:
    links = {"KHM-4-110.23": "https://upr.example.org/detail?id=KHM-4-110.23"}
    body = json.loads(webhook_body(ENVELOPE, PUBLIC, links, evidence_links("https://upr.example.org", EVIDENCE_ALERT)))
    assert body["links"] == {"recommendations": links, "evidence": {
        "ev-1 a&b": "https://upr.example.org/detail?id=KHM-4-110.23&evidence=ev-1+a%26b"}}
