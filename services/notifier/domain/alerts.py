"""What happened, in the subscribers' words: a tracker event becomes zero or more alerts.

Pure: no I/O. The notifier keeps a small projection of its own (recommendation ->
cycle, themes, last evidence; evidence -> recommendations, title) and passes what it
knows in; it never reads the tracker's collections.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.events import (
    Contract,
    EvidenceAddedV1,
    EvidenceReviewedV1,
    EvidenceReviewedV2,
    RecommendationUpdatedV1,
    ReviewState,
    StatusChangedV1,
    ThemesTaggedV1,
    Visibility,
)

# Who may read an alert. Public: anyone (viewers, partners' systems). Coalition: coalition
# members, CNCC reviewers and admins, and partners an admin marked as coalition.
PUBLIC = "public"
COALITION = "coalition"


class AlertKind(StrEnum):
    """The event kinds a subscription can ask for (SubscriptionRequestedV1.event_kinds)."""

    NEW_EVIDENCE = "new_evidence"
    STATUS_CHANGE = "status_change"
    DISAGREEMENT = "disagreement"
    TAG_CORRECTION = "tag_correction"
    DEADLINE = "deadline"
    STALE = "stale"
    NEW_RECOMMENDATION = "new_recommendation"


# Kinds that come from the scheduler, not from a single tracker event.
SCHEDULED_KINDS = frozenset({AlertKind.DEADLINE, AlertKind.STALE})


@dataclass(frozen=True)
class EvidenceFacts:
    """What the notifier remembers about one evidence item (from evidence.added)."""

    evidence_id: str
    recommendation_ids: tuple[str, ...]
    title: str
    review_state: str
    visibility: str = Visibility.COALITION.value
    # Held for safeguarding (the tracker flagged text that may identify a child): never announced.
    held: bool = True


@dataclass(frozen=True)
class Alert:
    """Something a subscriber may want to hear about.

    ``key`` identifies the fact being announced: two events announcing the same fact
    (evidence added already approved, then approved again on review) share a key, so a
    subscriber hears about it once.
    """

    kind: AlertKind
    key: str
    recommendation_ids: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)
    cycle: int | None = None  # for alerts about a cycle rather than recommendations
    audience: str = PUBLIC  # who may read it (PUBLIC or COALITION)


def alerts_for(
    event_id: uuid.UUID | str,
    event_type: str,
    payload: Contract,
    evidence: Mapping[str, EvidenceFacts] | None = None,
) -> list[Alert]:
    """The alerts one tracker event raises. Pending, rejected or safeguarding-held evidence
    raises none (it may identify a child); coalition-only evidence raises a coalition alert."""
    evidence = evidence or {}
    if event_type == "recommendation.updated" and isinstance(payload, RecommendationUpdatedV1):
        if not payload.created:
            return []
        return [Alert(AlertKind.NEW_RECOMMENDATION, f"recommendation:{payload.recommendation_id}",
                      (payload.recommendation_id,), {"position": payload.position.value})]
    if event_type == "evidence.added" and isinstance(payload, EvidenceAddedV1):
        if payload.review_state != ReviewState.APPROVED or payload.safeguarding_flags:
            return []
        return [_new_evidence(payload.evidence_id, tuple(payload.recommendation_ids), payload.title,
                              payload.visibility.value)]
    if event_type == "evidence.reviewed" and isinstance(payload, EvidenceReviewedV1 | EvidenceReviewedV2):
        facts = evidence.get(payload.evidence_id)
        if payload.decision != "approved" or facts is None or facts.held:
            return []
        return [_new_evidence(facts.evidence_id, facts.recommendation_ids, facts.title, facts.visibility)]
    if event_type == "status.changed" and isinstance(payload, StatusChangedV1):
        details = {
            "assessor": payload.assessor.value,
            "before": payload.before.value if payload.before else "",
            "after": payload.after.value,
        }
        rec = (payload.recommendation_id,)
        # One fact, one alert per subscriber: both kinds share the key, and a subscriber
        # asking for disagreements hears the more specific one.
        alerts = [Alert(AlertKind.STATUS_CHANGE, f"event:{event_id}", rec, details)]
        if payload.disagreement:
            alerts.insert(0, Alert(AlertKind.DISAGREEMENT, f"event:{event_id}", rec, details))
        return alerts
    if event_type == "themes.tagged" and isinstance(payload, ThemesTaggedV1):
        if not payload.corrected:
            return []
        themes = ", ".join(t.id for t in payload.themes)
        return [Alert(AlertKind.TAG_CORRECTION, f"event:{event_id}", (payload.recommendation_id,),
                      {"themes": themes})]
    return []


def _new_evidence(evidence_id: str, recommendation_ids: tuple[str, ...], title: str, visibility: str) -> Alert:
    audience = PUBLIC if visibility == Visibility.PUBLIC.value else COALITION
    return Alert(AlertKind.NEW_EVIDENCE, f"evidence:{evidence_id}", recommendation_ids,
                 {"title": title, "evidence_id": evidence_id}, audience=audience)


def cycle_of(recommendation_id: str) -> int | None:
    """KHM-4-110.23 -> 4: the cycle is part of a recommendation's identity."""
    parts = recommendation_id.split("-", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None
