"""The tracker's command handlers on an in-memory repository (tests/unit/tracker/fakes.py):
who may do what, what is stored and announced, and what a redelivery changes (nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    EvidenceReviewRequestedV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    ImplementationStatus,
    Role,
    SafeguardingReviewRequestedV1,
    ThemeCorrectionRequestedV1,
    make_event,
)
from contracts.messaging import Rejected
from services.tracker import handlers
from services.tracker.domain.safeguarding import HELD_TEXT
from tests.unit.tracker.fakes import FakeRepository, deps

REC = "KHM-4-110.57"
CSO = Actor(username="sokha", role=Role.CSO_MEMBER, organisation="CRC Cambodia")
REVIEWER = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
VIEWER = Actor(username="dara", role=Role.VIEWER)


def run(handler: handlers.Handler, payload: Any, actor: Actor, repo: FakeRepository) -> Any:
    return handler(make_event(payload, source="ui", actor=actor), payload, deps(repo))


def evidence(evidence_id: str = "ev-000001", **fields: Any) -> EvidenceSubmittedV1:
    return EvidenceSubmittedV1(**{
        "evidence_id": evidence_id, "recommendation_ids": [REC], "source_type": EvidenceSourceType.POLICY_PLAN,
        "title": "Birth registration campaign report", "quote": "Registration is now free in 25 provinces",
        "visibility": "public", **fields})


def assessment(assessor: Assessor, status: ImplementationStatus, n: int = 1, **fields: Any) -> AssessmentSubmittedV1:
    return AssessmentSubmittedV1(assessment_id=f"as-{assessor.value}-{n:04d}", recommendation_id=REC,
                                 assessor=assessor, status=status, rationale="seen in the 2024 budget", **fields)


@pytest.fixture
def repo() -> FakeRepository:
    repo = FakeRepository()
    repo.add_recommendation(REC)
    return repo


# --- evidence -------------------------------------------------------------------------


async def test_evidence_from_a_cso_member_waits_for_review_and_is_counted_for_reviewers_only(
    repo: FakeRepository,
) -> None:
    outcome = await run(handlers.evidence_submitted, evidence(), CSO, repo)
    assert outcome.outcome == "created"
    (kind, added), = outcome.events
    assert kind == "evidence.added" and added.review_state == "pending"
    assert repo.db["evidence"]["ev-000001"]["submitted_by"]["username"] == "sokha"
    assert (repo.rec(REC)["evidence_count"], repo.rec(REC)["evidence_count_public"]) == (1, 0)
    assert [e["action"] for e in repo.audit_log] == ["evidence.added"]


async def test_evidence_delivered_twice_is_stored_once(repo: FakeRepository) -> None:
    payload = evidence()
    envelope = make_event(payload, source="ui", actor=REVIEWER)
    first = await handlers.evidence_submitted(envelope, payload, deps(repo))
    again = await handlers.evidence_submitted(envelope, payload, deps(repo))
    assert first.events == again.events and len(repo.db["evidence"]) == 1 and len(repo.audit_log) == 1
    assert repo.rec(REC)["evidence_count_public"] == 1  # a reviewer's own evidence needs no review


async def test_evidence_is_refused_to_a_viewer_and_waits_for_an_unknown_recommendation(
    repo: FakeRepository,
) -> None:
    with pytest.raises(Rejected, match="viewer"):
        await run(handlers.evidence_submitted, evidence(), VIEWER, repo)
    with pytest.raises(handlers.WaitingFor):
        await run(handlers.evidence_submitted, evidence(recommendation_ids=["KHM-4-999.1"]), CSO, repo)
    assert not repo.db["evidence"]


async def test_evidence_naming_a_child_is_held_and_approving_it_releases_the_text(repo: FakeRepository) -> None:
    quote = "Sokha Chan, 12, from Kampong Cham was registered at last"
    await run(handlers.evidence_submitted, evidence(quote=quote), REVIEWER, repo)
    stored = repo.db["evidence"]["ev-000001"]
    assert stored["quote"] == HELD_TEXT and stored["review_state"] == "pending"  # held: a reviewer decides
    assert repo.db["safeguarding_holds"]["evidence:ev-000001"]["original"] == {"quote": quote}
    assert repo.rec(REC)["evidence_count_public"] == 0

    outcome = await run(handlers.evidence_review_requested,
                        EvidenceReviewRequestedV1(evidence_id="ev-000001", decision="approved"), REVIEWER, repo)
    assert outcome.outcome == "updated" and outcome.events[0][1].decision == "approved"
    assert stored["quote"] == quote and stored["review_state"] == "approved"
    assert repo.rec(REC)["evidence_count_public"] == 1


async def test_a_review_needs_a_reviewer_and_known_evidence(repo: FakeRepository) -> None:
    await run(handlers.evidence_submitted, evidence(), CSO, repo)
    review = EvidenceReviewRequestedV1(evidence_id="ev-000001", decision="rejected", comment="not a source")
    with pytest.raises(Rejected):
        await run(handlers.evidence_review_requested, review, CSO, repo)
    with pytest.raises(Rejected, match="unknown evidence"):
        await run(handlers.evidence_review_requested, review.model_copy(update={"evidence_id": "ev-404404"}),
                  REVIEWER, repo)
    await run(handlers.evidence_review_requested, review, REVIEWER, repo)
    assert repo.db["evidence"]["ev-000001"]["review_comment"] == "not a source"
    assert repo.rec(REC)["evidence_count"] == 0  # rejected evidence counts nowhere


# --- assessments (status) -----------------------------------------------------------------


async def test_cso_and_cncc_statuses_that_differ_mark_a_disagreement(repo: FakeRepository) -> None:
    cso = await run(handlers.assessment_submitted,
                    assessment(Assessor.CSO, ImplementationStatus.IN_PROGRESS), CSO, repo)
    (kind, change), = cso.events
    assert kind == "status.changed" and change.before is None and not change.disagreement
    cncc = await run(handlers.assessment_submitted,
                     assessment(Assessor.CNCC, ImplementationStatus.FULLY_IMPLEMENTED), REVIEWER, repo)
    assert cncc.events[0][1].disagreement and repo.rec(REC)["disagreement"] is True
    assert (repo.rec(REC)["cso_status"], repo.rec(REC)["cncc_status"]) == ("in_progress", "fully_implemented")
    agreed = await run(handlers.assessment_submitted,
                       assessment(Assessor.CSO, ImplementationStatus.FULLY_IMPLEMENTED, n=2), CSO, repo)
    assert agreed.events[0][1].before == "in_progress" and repo.rec(REC)["disagreement"] is False


async def test_an_assessment_is_refused_to_the_wrong_assessor_or_citing_unknown_evidence(
    repo: FakeRepository,
) -> None:
    with pytest.raises(Rejected):  # a CSO member cannot give CNCC's assessment
        await run(handlers.assessment_submitted,
                  assessment(Assessor.CNCC, ImplementationStatus.IN_PROGRESS), CSO, repo)
    with pytest.raises(Rejected, match="unknown evidence ev-404404"):
        await run(handlers.assessment_submitted, assessment(
            Assessor.CSO, ImplementationStatus.IN_PROGRESS, evidence_ids=["ev-404404"]), CSO, repo)
    assert "cso_status" not in repo.rec(REC)


async def test_the_same_status_again_is_stored_without_announcing_a_change(repo: FakeRepository) -> None:
    await run(handlers.assessment_submitted, assessment(Assessor.CSO, ImplementationStatus.IN_PROGRESS), CSO, repo)
    same = await run(handlers.assessment_submitted,
                     assessment(Assessor.CSO, ImplementationStatus.IN_PROGRESS, n=2), CSO, repo)
    assert same.outcome == "stored" and same.events == []
    assert len(repo.db["assessments"]) == 2


# --- tag corrections ------------------------------------------------------------------------


async def test_a_persons_theme_correction_wins_over_the_tagger_and_is_announced(repo: FakeRepository) -> None:
    correction = ThemeCorrectionRequestedV1(recommendation_id=REC, add=["T08"], remove=["T05"], comment="education")
    outcome = await run(handlers.themes_correction_requested, correction, CSO, repo)
    (kind, tagged), = outcome.events
    assert kind == "themes.tagged" and tagged.corrected
    assert [t.id for t in tagged.themes] == ["T08"]  # the tagger's T05 was removed by a person
    rec = repo.rec(REC)
    assert (rec["themes"], rec["themes_added_by_people"], rec["themes_removed_by_people"]) == (["T08"], ["T08"],
                                                                                                 ["T05"])
    assert rec["last_correction"]["comment"] == "education"
    # Later, the person takes T05 back: their latest word wins.
    await run(handlers.themes_correction_requested,
              ThemeCorrectionRequestedV1(recommendation_id=REC, add=["T05"]), REVIEWER, repo)
    assert sorted(repo.rec(REC)["themes"]) == ["T05", "T08"] and repo.rec(REC)["themes_removed_by_people"] == []


async def test_a_theme_correction_is_refused_to_a_viewer(repo: FakeRepository) -> None:
    with pytest.raises(Rejected):
        await run(handlers.themes_correction_requested,
                  ThemeCorrectionRequestedV1(recommendation_id=REC, add=["T08"]), VIEWER, repo)
    assert "themes_added_by_people" not in repo.rec(REC)


# --- safeguarding -----------------------------------------------------------------------------


async def test_a_reviewer_redacts_held_text_everywhere_it_shows(repo: FakeRepository) -> None:
    await run(handlers.evidence_submitted, evidence(quote="Dara Sok, aged 9, lives in Takeo"), CSO, repo)
    decision = SafeguardingReviewRequestedV1(hold_id="evidence:ev-000001", decision="redact",
                                             redacted={"quote": "A child in Takeo"})
    with pytest.raises(Rejected):
        await run(handlers.safeguarding_review_requested, decision, CSO, repo)
    await run(handlers.safeguarding_review_requested, decision, REVIEWER, repo)
    assert repo.db["evidence"]["ev-000001"]["quote"] == "A child in Takeo"
    assert repo.db["safeguarding_holds"]["evidence:ev-000001"]["state"] == "redacted"
