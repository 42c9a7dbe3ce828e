"""Issue 14: a reviewer confirms or splits an ambiguous import row (command
import.match_decided), on a fake repository: merged with the row's id kept as an alias and
audited, or kept as a recommendation of its own; applied once however often it comes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from contracts.events import Actor, EventEnvelope, ImportMatchDecidedV1, Role, make_event
from contracts.messaging import Rejected
from services.tracker import handlers
from tests.unit.tracker.test_batch_imports import FakeRepo, deps
from tests.unit.tracker.test_merging import HASH_ID, TEXT, envelope_of, row

REVIEWER = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
GREY = f"{TEXT} and of women and girls"  # similarity 78-90 with TEXT: ambiguous
CSO_ID = "KHM-1-x1111111111"


class ReviewRepo(FakeRepo):
    """FakeRepo plus what a command needs: lookups by id or alias, versions by message, reviews."""

    async def recommendation(self, rec_id: str) -> dict[str, Any] | None:
        found = await self.recommendations([rec_id])
        return next(iter(found.values()), None)

    async def resolve_ids(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in ids:
            doc = await self.recommendation(i)
            if doc is not None:
                out[i] = str(doc["_id"])
        return out

    async def version_from_event(self, rec_id: str, event_id: str) -> dict[str, Any] | None:
        return next((v for v in self.versions.values()
                     if v["recommendation_id"] == rec_id and v["source_event_id"] == event_id), None)

    async def match_review(self, review_id: str) -> dict[str, Any] | None:
        return self.reviews.get(review_id)

    async def decide_match_review(self, review_id: str, fields: dict[str, Any]) -> None:
        self.reviews[review_id].update(fields)


async def ambiguous_repo() -> ReviewRepo:
    repo = ReviewRepo()
    await handlers.recommendations_imported([envelope_of(row())], deps(repo))
    (outcome,) = await handlers.recommendations_imported([envelope_of(row(
        CSO_ID, fmt="cso_sheet", text=GREY, import_id="imp-cso", n=7))], deps(repo))
    assert outcome is not None and outcome.outcome == "ambiguous"
    return repo


def command(decision: str, rec_id: str | None = None, actor: Actor = REVIEWER) -> EventEnvelope:
    payload = ImportMatchDecidedV1(review_id=f"cso_sheet:{CSO_ID}", decision=decision,  # type: ignore[arg-type]
                                   recommendation_id=rec_id)
    return make_event(payload, source="ui", actor=actor, event_id=uuid.uuid4())


async def decide(repo: ReviewRepo, envelope: EventEnvelope) -> handlers.Outcome:
    return await handlers.HANDLERS[envelope.type](envelope, envelope.typed_payload(), deps(repo))


async def test_an_ambiguous_row_waits_for_a_reviewer_with_the_row_as_imported() -> None:
    repo = await ambiguous_repo()
    review = repo.reviews[f"cso_sheet:{CSO_ID}"]
    assert review["state"] == "pending" and review["row"] == 7
    assert review["candidates"][0]["recommendation_id"] == HASH_ID
    assert review["payload"]["text"] == GREY  # enough to apply the decision without importing again


async def test_same_merges_the_row_keeps_its_id_as_an_alias_and_audits_it() -> None:
    repo = await ambiguous_repo()
    outcome = await decide(repo, command("same", HASH_ID))
    assert outcome.outcome == "updated" and [e[0] for e in outcome.events] == ["recommendation.updated",
                                                                               "themes.tagged"]
    merged = repo.recs[HASH_ID]
    assert CSO_ID in merged["aliases"] and merged["version"] == 2 and merged["text"] == TEXT
    assert set(merged["sources"]) == {"upr_info_csv", "cso_sheet"}
    assert repo.reviews[f"cso_sheet:{CSO_ID}"]["state"] == "same"
    assert [a["action"] for a in repo.audit.values()][-1] == "recommendation.match_confirmed"
    # The same file again: found by the alias, no longer ambiguous.
    (again,) = await handlers.recommendations_imported([envelope_of(row(
        CSO_ID, fmt="cso_sheet", text=GREY, import_id="imp-cso-2", n=7))], deps(repo))
    assert again is not None and again.outcome == "unchanged" and list(repo.recs) == [HASH_ID]


async def test_separate_makes_a_recommendation_of_its_own() -> None:
    repo = await ambiguous_repo()
    outcome = await decide(repo, command("separate"))
    assert outcome.outcome == "created" and sorted(repo.recs) == sorted([HASH_ID, CSO_ID])
    assert repo.recs[CSO_ID]["text"] == GREY and repo.recs[HASH_ID]["version"] == 1
    assert repo.reviews[f"cso_sheet:{CSO_ID}"]["state"] == "separate"
    (again,) = await handlers.recommendations_imported([envelope_of(row(
        CSO_ID, fmt="cso_sheet", text=GREY, import_id="imp-cso-2", n=7))], deps(repo))
    assert again is not None and again.outcome == "unchanged"


async def test_a_decision_redelivered_is_applied_once_and_a_second_decision_is_refused() -> None:
    repo = await ambiguous_repo()
    envelope = command("same", HASH_ID)
    first = await decide(repo, envelope)
    again = await decide(repo, envelope)  # redelivered before its receipt was written
    assert again.outcome == first.outcome == "updated"
    assert sorted(repo.versions) == [f"{HASH_ID}@1", f"{HASH_ID}@2"]
    with pytest.raises(Rejected, match="already decided"):
        await decide(repo, command("separate"))


async def test_a_recommendation_that_is_no_candidate_or_a_viewer_is_refused() -> None:
    repo = await ambiguous_repo()
    await handlers.recommendations_imported([envelope_of(row(
        "KHM-1-82.1", fmt="upr_info_clean_csv", paragraph="82.1", text="Ratify the Optional Protocol on torture",
        states=("NOR",), import_id="imp-other"))], deps(repo))
    with pytest.raises(Rejected, match="not one of the row's candidates"):
        await decide(repo, command("same", "KHM-1-82.1"))
    with pytest.raises(Rejected, match="may not"):
        await decide(repo, command("same", HASH_ID, Actor(username="v", role=Role.VIEWER)))
    assert repo.reviews[f"cso_sheet:{CSO_ID}"]["state"] == "pending"


def test_same_without_a_recommendation_is_an_invalid_command() -> None:
    with pytest.raises(ValueError, match="say which stored recommendation"):
        ImportMatchDecidedV1(review_id="cso_sheet:x", decision="same")
