"""What leaves the notifier besides the alert's words: links into the UI, and the webhook body
as a partner of a given audience may receive it. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlencode

from services.notifier.domain.alerts import COALITION


def recommendation_url(public_ui_url: str, recommendation_id: str) -> str:
    """The UI's stable address of a recommendation (its detail page; issue 15)."""
    return f"{public_ui_url.rstrip('/')}/detail?{urlencode({'id': recommendation_id})}"


def recommendation_links(public_ui_url: str, recommendation_ids: Iterable[str]) -> dict[str, str]:
    return {rec: recommendation_url(public_ui_url, rec) for rec in dict.fromkeys(recommendation_ids)}


def webhook_body(trigger_body: str, audience: str, links: dict[str, str]) -> bytes:
    """The tracker's event envelope as this partner may see it: who did it (``actor``: a
    username, a role, an organisation) is coalition information, left out for public
    partners; ``links`` gives the UI address of each recommendation the alert is about."""
    envelope = json.loads(trigger_body) if trigger_body else {}
    if audience != COALITION:
        envelope["actor"] = None
    if links:
        envelope["links"] = {"recommendations": links}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
