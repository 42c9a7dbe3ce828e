"""What leaves the notifier besides the alert's words: links into the UI, and the webhook body
as a partner of a given audience may receive it. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from contracts.ui_addresses import recommendation_address
from services.notifier.domain.alerts import COALITION


def recommendation_url(public_ui_url: str, recommendation_id: str) -> str:
    """The UI's stable address of a recommendation (its detail page; issue 15)."""
    return recommendation_address(public_ui_url, recommendation_id)


def evidence_url(public_ui_url: str, recommendation_id: str, evidence_id: str) -> str:
    """The UI's stable address of one evidence item: its recommendation's page, the item shown first."""
    return recommendation_address(public_ui_url, recommendation_id, evidence_id)


def recommendation_links(public_ui_url: str, recommendation_ids: Iterable[str]) -> dict[str, str]:
    return {rec: recommendation_url(public_ui_url, rec) for rec in dict.fromkeys(recommendation_ids)}


def evidence_links(public_ui_url: str, alert: Mapping[str, Any]) -> dict[str, str]:
    """{evidence id: its address} for an alert (a delivery) about new evidence, else {}."""
    evidence_id = str((alert.get("details") or {}).get("evidence_id") or "")
    recs = list(alert.get("recommendation_ids") or [])
    return {evidence_id: evidence_url(public_ui_url, recs[0], evidence_id)} if evidence_id and recs else {}


def alert_url(public_ui_url: str, alert: Mapping[str, Any]) -> str:
    """Where one alert line of an email or digest links to: the evidence item it announces, else
    the (first) recommendation it is about, else the UI's front page."""
    evidence = evidence_links(public_ui_url, alert)
    if evidence:
        return next(iter(evidence.values()))
    recs = list(alert.get("recommendation_ids") or [])
    return recommendation_url(public_ui_url, recs[0]) if recs else public_ui_url


def webhook_body(trigger_body: str, audience: str, links: dict[str, str],
                 evidence: dict[str, str] | None = None) -> bytes:
    """The tracker's event envelope as this partner may see it: who did it (``actor``: a
    username, a role, an organisation) is coalition information, left out for public
    partners; ``links`` gives the UI address of each recommendation the alert is about and
    of the evidence item it announces."""
    envelope = json.loads(trigger_body) if trigger_body else {}
    if audience != COALITION:
        envelope["actor"] = None
    if links or evidence:
        envelope["links"] = {"recommendations": links}
        if evidence:
            envelope["links"]["evidence"] = evidence
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
