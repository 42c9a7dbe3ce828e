"""The tracker's batch rule for imported recommendations, on a fake repository: what a
redelivered batch writes and announces after a crash at each point between its writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.events import (
    EventEnvelope,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    SourceRef,
    make_event,
)
from services.tracker import handlers
from tests.unit.tracker.fakes import FakeTagger, no_examples


class FakeRepo:
    """The repository calls recommendations_imported makes, kept in dictionaries."""

    def __init__(self) -> None:
        self.receipts: dict[str, dict[str, Any]] = {}
        self.recs: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}  # by "<id>@<version>"
        self.audit: dict[str, dict[str, Any]] = {}
        self.crash_after_history = False
        self.aliases: dict[str, str] = {}
        self.reviews: dict[str, dict[str, Any]] = {}  # ambiguous rows, for a reviewer

    async def processed_many(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: self.receipts[i] for i in ids if i in self.receipts}

    async def recommendations(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        wanted = set(ids) | {self.aliases[i] for i in ids if i in self.aliases}
        return {k: {**v, "_id": k} for k, v in self.recs.items() if k in wanted}

    async def match_candidates(self, wanted: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        places = {(w["country"], w["cycle"]) for w in wanted}
        return [{**v, "_id": k} for k, v in sorted(self.recs.items()) if (v.get("country"), v.get("cycle")) in places]

    async def import_sources(self, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        found: dict[tuple[str, int], set[str]] = {}
        for r in self.recs.values():
            if (r.get("country"), r.get("cycle")) in set(places):
                found.setdefault((r["country"], r["cycle"]), set()).add(str(r.get("last_import_id") or ""))
        return found

    async def save_aliases(self, aliases: dict[str, str]) -> None:
        self.aliases.update(aliases)

    async def retire(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.recs.pop(i, None)

    async def versions_from_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {v["source_event_id"]: v for v in self.versions.values() if v["source_event_id"] in event_ids}

    async def save_versions(self, items: Sequence[dict[str, Any]]) -> None:
        for i in items:
            self.versions.setdefault(f"{i['recommendation_id']}@{i['version']}", {
                "recommendation_id": i["recommendation_id"], "version": i["version"], "changes": i["changes"],
                "source_event_id": i["event_id"], "retired": i.get("retired") or []})
        if self.crash_after_history:
            raise ConnectionError("killed between the history and the recommendations")
        for i in items:
            self.recs[i["recommendation_id"]] = {**self.recs.get(i["recommendation_id"], {}), **i["base"],
                                                 **i["content"], "version": i["version"],
                                                 "content_hash": i["content_hash"]}

    async def audit_many(self, entries: Sequence[dict[str, Any]]) -> None:
        for e in entries:
            self.audit.setdefault(e["audit_id"], e)

    async def save_match_reviews(self, reviews: Sequence[dict[str, Any]]) -> None:
        for r in reviews:
            self.reviews[r["_id"]] = {**self.reviews.get(r["_id"], {}), **r}


def imported(text: str, event_n: int) -> handlers.Imported:
    payload = RecommendationImportedV1(
        recommendation_id="KHM-4-110.1", country="KHM", cycle=4, session=46, paragraph="110.1", text=text,
        recommending_states=[RecommendingState(code="NOR", name="Norway")], position=Position.SUPPORTED,
        source=SourceRef(format="test", file_name="f.csv", row=event_n), import_id="imp-1")
    envelope: EventEnvelope = make_event(payload, source="ingest", correlation_id="imp-1")
    return handlers.Imported(envelope, payload)


def deps(repo: FakeRepo) -> handlers.Deps:
    return handlers.Deps(repo=repo, tagger=FakeTagger(), examples=no_examples)  # type: ignore[arg-type]


async def test_a_batch_killed_after_its_history_but_before_the_recommendation_stores_it_when_redelivered() -> None:
    repo = FakeRepo()
    batch = [imported("Register every birth", 2)]
    repo.crash_after_history = True
    try:
        await handlers.recommendations_imported(batch, deps(repo))
    except ConnectionError:
        pass
    assert repo.versions and not repo.recs  # the state the crash left
    repo.crash_after_history = False
    (outcome,) = await handlers.recommendations_imported(batch, deps(repo))
    assert outcome is not None and outcome.outcome == "created"
    assert repo.recs["KHM-4-110.1"]["version"] == 1
    assert repo.recs["KHM-4-110.1"]["text"] == "Register every birth"
    assert len(repo.audit) == 1


async def test_two_versions_in_one_redelivered_batch_are_announced_again_without_rewriting_history() -> None:
    repo = FakeRepo()
    batch = [imported("Register every birth", 2), imported("Register every birth free of charge", 3)]
    first = await handlers.recommendations_imported(batch, deps(repo))
    assert [o.outcome for o in first if o] == ["created", "updated"]
    assert repo.recs["KHM-4-110.1"]["version"] == 2
    # Killed before the receipts: the whole batch comes again.
    again = await handlers.recommendations_imported(batch, deps(repo))
    assert [o.outcome for o in again if o] == ["created", "updated"]
    announced = [dict(o.events)["recommendation.updated"] for o in again if o]
    assert [(a.version, a.created) for a in announced] == [(1, True), (2, False)]  # type: ignore[attr-defined]
    assert repo.recs["KHM-4-110.1"]["version"] == 2  # not a third version
    assert repo.recs["KHM-4-110.1"]["text"] == "Register every birth free of charge"
    assert sorted(repo.versions) == ["KHM-4-110.1@1", "KHM-4-110.1@2"]
    assert len(repo.audit) == 2


async def test_a_message_with_a_receipt_is_skipped_and_an_unchanged_one_writes_nothing() -> None:
    repo = FakeRepo()
    first = imported("Register every birth", 2)
    await handlers.recommendations_imported([first], deps(repo))
    repo.receipts[str(first.envelope.event_id)] = {"outcome": "created"}
    same_text_new_message = imported("Register every birth", 9)
    outcomes = await handlers.recommendations_imported([first, same_text_new_message], deps(repo))
    assert outcomes[0] is None
    assert outcomes[1] is not None and outcomes[1].outcome == "unchanged" and not outcomes[1].events
    assert len(repo.versions) == 1 and len(repo.audit) == 1
