"""Which tracker events become alerts, and which subscriptions receive them."""

from __future__ import annotations

import uuid

from contracts.events import (
    Assessor,
    Channel,
    EvidenceAddedV1,
    EvidenceReviewedV1,
    EvidenceSourceType,
    ImplementationStatus,
    Position,
    RecommendationUpdatedV1,
    ReviewState,
    StatusChangedV1,
    ThemesTaggedV1,
    ThemeTag,
    Visibility,
)
from services.notifier.domain.alerts import Alert, AlertKind, EvidenceFacts, alerts_for, cycle_of
from services.notifier.domain.subscriptions import CANCELLED, RecommendationFacts, Subscription, matches

EVENT = uuid.UUID("00000000-0000-0000-0000-000000000001")


def evidence(state: ReviewState) -> EvidenceAddedV1:
    return EvidenceAddedV1(evidence_id="ev-000001", recommendation_ids=["KHM-4-110.23"],
                           source_type=EvidenceSourceType.TRAINING, title="299 officers trained on OCSE",
                           visibility=Visibility.PUBLIC, review_state=state)


def subscription(**fields: object) -> Subscription:
    base: dict[str, object] = {"subscription_id": "sub-000001", "owner": "dara", "channel": Channel.EMAIL,
                               "event_kinds": frozenset(AlertKind), "email": "dara@example.org"}
    base.update(fields)
    return Subscription(**base)  # type: ignore[arg-type]


def test_approved_evidence_is_news_for_its_recommendations() -> None:
    [alert] = alerts_for(EVENT, "evidence.added", evidence(ReviewState.APPROVED))
    assert alert.kind == AlertKind.NEW_EVIDENCE
    assert alert.recommendation_ids == ("KHM-4-110.23",)
    assert alert.details["title"] == "299 officers trained on OCSE"


def test_pending_or_rejected_evidence_raises_no_alert_because_it_may_identify_a_child() -> None:
    assert alerts_for(EVENT, "evidence.added", evidence(ReviewState.PENDING)) == []
    assert alerts_for(EVENT, "evidence.added", evidence(ReviewState.REJECTED)) == []


def test_evidence_approved_on_review_is_the_same_news_as_evidence_added_approved() -> None:
    facts = {"ev-000001": EvidenceFacts("ev-000001", ("KHM-4-110.23",), "299 officers trained on OCSE", "pending",
                                        "public", held=False)}
    [reviewed] = alerts_for(uuid.uuid4(), "evidence.reviewed",
                            EvidenceReviewedV1(evidence_id="ev-000001", decision="approved"), facts)
    [added] = alerts_for(EVENT, "evidence.added", evidence(ReviewState.APPROVED))
    assert reviewed.key == added.key
    assert alerts_for(EVENT, "evidence.reviewed",
                      EvidenceReviewedV1(evidence_id="ev-000001", decision="rejected"), facts) == []


def test_status_change_with_disagreement_is_one_fact_offered_as_both_kinds() -> None:
    change = StatusChangedV1(recommendation_id="KHM-4-110.23", assessor=Assessor.CNCC,
                             before=ImplementationStatus.IN_PROGRESS, after=ImplementationStatus.FULLY_IMPLEMENTED,
                             assessment_id="as-000001", disagreement=True)
    alerts = alerts_for(EVENT, "status.changed", change)
    assert [a.kind for a in alerts] == [AlertKind.DISAGREEMENT, AlertKind.STATUS_CHANGE]
    assert len({a.key for a in alerts}) == 1
    assert alerts[0].details == {"assessor": "cncc", "before": "in_progress", "after": "fully_implemented"}


def test_only_corrected_tags_and_created_recommendations_raise_alerts() -> None:
    tag = ThemeTag(id="T08", confidence=1.0, source="human")
    corrected = ThemesTaggedV1(recommendation_id="KHM-4-110.23", child_related=True, themes=[tag],
                               tagger_version="1", corrected=True)
    assert [a.kind for a in alerts_for(EVENT, "themes.tagged", corrected)] == [AlertKind.TAG_CORRECTION]
    assert alerts_for(EVENT, "themes.tagged", corrected.model_copy(update={"corrected": False})) == []
    created = RecommendationUpdatedV1(recommendation_id="KHM-4-110.23", version=1, created=True,
                                      position=Position.SUPPORTED, cycle=4)
    assert [a.kind for a in alerts_for(EVENT, "recommendation.updated", created)] == [AlertKind.NEW_RECOMMENDATION]
    assert alerts_for(EVENT, "recommendation.updated", created.model_copy(update={"created": False})) == []


def test_subscription_filters_on_themes_recommendations_and_cycles() -> None:
    alert = Alert(AlertKind.NEW_EVIDENCE, "evidence:x", ("KHM-4-110.23", "KHM-3-107.5"))
    facts = {"KHM-4-110.23": RecommendationFacts("KHM-4-110.23", 4, frozenset({"T08", "T07"})),
             "KHM-3-107.5": RecommendationFacts("KHM-3-107.5", 3, frozenset({"T10"}))}
    assert matches(subscription(), alert, facts)
    assert matches(subscription(themes=frozenset({"T08"})), alert, facts)
    assert not matches(subscription(themes=frozenset({"T17"})), alert, facts)
    assert matches(subscription(recommendation_ids=frozenset({"KHM-3-107.5"})), alert, facts)
    assert not matches(subscription(recommendation_ids=frozenset({"KHM-2-118.1"})), alert, facts)
    # Every filter must hold for the same recommendation: T10 is cycle 3, not 4.
    assert not matches(subscription(themes=frozenset({"T10"}), cycles=frozenset({4})), alert, facts)
    assert matches(subscription(themes=frozenset({"T10"}), cycles=frozenset({3})), alert, facts)


def test_cycle_filter_works_before_the_notifier_has_seen_the_recommendation() -> None:
    alert = Alert(AlertKind.NEW_EVIDENCE, "evidence:x", ("KHM-4-110.23",))
    assert cycle_of("KHM-4-110.23") == 4
    assert matches(subscription(cycles=frozenset({4})), alert, {})
    assert not matches(subscription(cycles=frozenset({3})), alert, {})


def test_unwanted_kinds_and_cancelled_subscriptions_get_nothing() -> None:
    alert = Alert(AlertKind.STATUS_CHANGE, "event:x", ("KHM-4-110.23",))
    assert not matches(subscription(event_kinds=frozenset({AlertKind.NEW_EVIDENCE})), alert, {})
    assert not matches(subscription(status=CANCELLED), alert, {})


def test_deadline_alerts_match_on_the_cycle_only() -> None:
    alert = Alert(AlertKind.DEADLINE, "deadline:x", (), cycle=4)
    assert matches(subscription(cycles=frozenset({4}), themes=frozenset({"T08"})), alert, {})
    assert not matches(subscription(cycles=frozenset({3})), alert, {})


# --- issue 13, row 4: alerts respect visibility ------------------------------------------


def coalition_evidence(flags: list[str] | None = None) -> EvidenceAddedV1:
    return EvidenceAddedV1(evidence_id="ev-000002", recommendation_ids=["KHM-4-110.23"],
                           source_type=EvidenceSourceType.CSO_REPORT, title="Coalition shadow report position",
                           visibility=Visibility.COALITION, review_state=ReviewState.APPROVED,
                           safeguarding_flags=flags or [])


def test_row4_coalition_only_evidence_reaches_coalition_subscriptions_only() -> None:
    from services.notifier.domain.alerts import COALITION, PUBLIC

    [alert] = alerts_for(EVENT, "evidence.added", coalition_evidence())
    assert alert.audience == COALITION
    assert matches(subscription(audience=COALITION), alert, {})  # a cso member, a reviewer, an admin
    assert not matches(subscription(audience=PUBLIC), alert, {})  # a viewer
    assert not matches(subscription(channel=Channel.WEBHOOK, email=None, webhook_url="https://p.example.org/h",
                                    audience=PUBLIC), alert, {})  # a partner not marked coalition
    [public] = alerts_for(EVENT, "evidence.added", evidence(ReviewState.APPROVED))
    assert public.audience == PUBLIC and matches(subscription(audience=PUBLIC), public, {})


def test_row4_evidence_held_for_safeguarding_never_raises_an_alert_even_once_approved() -> None:
    assert alerts_for(EVENT, "evidence.added", coalition_evidence(flags=["age_with_name"])) == []
    held = {"ev-000001": EvidenceFacts("ev-000001", ("KHM-4-110.23",), "Sokha, 12", "pending", "public", held=True)}
    assert alerts_for(uuid.uuid4(), "evidence.reviewed",
                      EvidenceReviewedV1(evidence_id="ev-000001", decision="approved"), held) == []


def test_row4_a_subscription_waiting_for_its_confirmation_receives_nothing() -> None:
    from services.notifier.domain.subscriptions import PENDING

    [alert] = alerts_for(EVENT, "evidence.added", evidence(ReviewState.APPROVED))
    assert not matches(subscription(status=PENDING), alert, {})
