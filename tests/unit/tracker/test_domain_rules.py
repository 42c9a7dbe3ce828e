"""The tracker's pure rules: versions, permissions, disagreement, safeguarding, corrections."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.events import (
    Actor,
    Assessor,
    ImplementationStatus,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
)
from services.tracker.domain.recommendations import decide_import
from services.tracker.domain.safeguarding import safeguarding_flags
from services.tracker.domain.status import (
    CAN_ASSESS,
    CAN_REVIEW,
    NotAllowed,
    disagreement,
    evidence_needs_review,
    require,
)
from services.tracker.domain.themes import effective_themes


def rec(**changes: object) -> RecommendationImportedV1:
    fields: dict[str, object] = dict(
        recommendation_id="KHM-2-118.40", country="KHM", cycle=2, session=18, document_symbol="A/HRC/26/16",
        paragraph="118.40", text="Ensure birth registration for all children", position=Position.SUPPORTED,
        recommending_states=[RecommendingState(code="MEX", name="Mexico")],
        source=SourceRef(format="test", file_name="a.csv", row=2), import_id="imp-a",
    )
    fields.update(changes)
    return RecommendationImportedV1(**fields)  # type: ignore[arg-type]


def stored(incoming: RecommendationImportedV1) -> dict[str, object]:
    decision = decide_import(None, incoming)
    return {**decision.content, "content_hash": decision.content_hash, "version": decision.version}


def test_a_new_recommendation_is_created_as_version_one() -> None:
    decision = decide_import(None, rec())
    assert decision.outcome == "created" and decision.version == 1 and decision.changes == []


def test_the_same_row_imported_again_changes_nothing() -> None:
    assert decide_import(stored(rec()), rec()).outcome == "unchanged"


def test_a_different_file_name_or_row_is_not_a_new_version() -> None:
    moved = rec(source=SourceRef(format="uhri_csv", file_name="other.csv", row=99), import_id="imp-b")
    assert decide_import(stored(rec()), moved).outcome == "unchanged"


def test_position_moved_to_noted_becomes_version_two_with_the_change() -> None:
    decision = decide_import(stored(rec()), rec(position=Position.NOTED))
    assert decision.outcome == "updated" and decision.version == 2
    assert [(c.field, c.before, c.after) for c in decision.changes] == [("position", "Supported", "Noted")]


def test_corrected_text_and_added_state_are_both_listed_as_changes() -> None:
    changed = rec(text="Ensure free birth registration for all children",
                  recommending_states=[RecommendingState(code="MEX", name="Mexico"),
                                       RecommendingState(code="URY", name="Uruguay")])
    decision = decide_import(stored(rec()), changed)
    assert {c.field for c in decision.changes} == {"text", "recommending_states"}
    assert decision.text_changed


def test_a_stored_date_compares_equal_to_the_same_imported_date() -> None:
    with_date = rec(publication_date=date(2014, 3, 7))
    previous = stored(with_date) | {"publication_date": date(2014, 3, 7)}
    previous["content_hash"] = "stale"
    assert decide_import(previous, with_date).changes == []


@pytest.mark.parametrize(("role", "assessor", "allowed"), [
    (Role.CSO_MEMBER, Assessor.CSO, True),
    (Role.CSO_MEMBER, Assessor.CNCC, False),
    (Role.REVIEWER, Assessor.CNCC, True),
    (Role.REVIEWER, Assessor.CSO, False),
    (Role.VIEWER, Assessor.CSO, False),
    (Role.ADMIN, Assessor.CNCC, True),
])
def test_who_may_give_which_assessment(role: Role, assessor: Assessor, allowed: bool) -> None:
    actor = Actor(username="u", role=role)
    if allowed:
        assert require(actor, CAN_ASSESS[assessor], "assess") == actor
    else:
        with pytest.raises(NotAllowed, match=f"role {role.value} may not"):
            require(actor, CAN_ASSESS[assessor], "assess")


def test_a_message_without_a_user_is_refused() -> None:
    with pytest.raises(NotAllowed, match="no user"):
        require(None, CAN_REVIEW, "review evidence")


def test_disagreement_only_when_both_assessed_and_different() -> None:
    s = ImplementationStatus
    assert disagreement(s.IN_PROGRESS, s.FULLY_IMPLEMENTED)
    assert not disagreement(s.IN_PROGRESS, s.IN_PROGRESS)
    assert not disagreement(None, s.IN_PROGRESS)
    assert not disagreement(s.IN_PROGRESS, None)


def test_cso_evidence_waits_for_review_and_reviewer_evidence_does_not_unless_flagged() -> None:
    assert evidence_needs_review(Actor(username="c", role=Role.CSO_MEMBER), [])
    assert not evidence_needs_review(Actor(username="r", role=Role.REVIEWER), [])
    assert evidence_needs_review(Actor(username="r", role=Role.REVIEWER), ["phone_number"])


@pytest.mark.parametrize(("text", "flag"), [
    ("Sokha, 12, was returned to her family in Battambang", "name_with_age"),
    ("a 14-year-old girl named Dara testified", "name_with_age"),
    ("call her mother on 012 345 678", "phone_number"),
    ("contact +855 12 345 678 for the case", "phone_number"),
    ("the girl attends Wat Bo primary school in Kok Chak village", "school_and_village"),
    ("write to victim.family@example.org", "email_address"),
])
def test_text_that_may_identify_a_child_is_flagged(text: str, flag: str) -> None:
    assert flag in safeguarding_flags(text)


@pytest.mark.parametrize("text", [
    "299 law-enforcement officers were trained on OCSE in 2023",
    "The Child Protection Law was adopted by the National Assembly",
    "Birth registration reached 73% of children under 5 in 2022",
    "",
])
def test_ordinary_evidence_is_not_flagged(text: str) -> None:
    assert safeguarding_flags(text) == []


def test_people_corrections_win_over_the_tagger() -> None:
    assert effective_themes(["T02", "T05"], added=["T06"], removed=["T02"]) == ["T05", "T06"]
    assert effective_themes([], added=["T19"], removed=[]) == ["T19"]
    assert effective_themes(["T15"], added=[], removed=["T15"]) == []
