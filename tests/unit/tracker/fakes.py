"""The tracker's repository in memory (services/tracker/repository.py TrackerRepository), for
unit tests of the handlers: one dictionary per collection, documents by ``_id``, with the
MongoDB adapter's rules where a handler relies on them (aliases, counts, held-text places)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from contracts import documents as d
from contracts.events import ThemeTag
from services.tracker import handlers
from services.tracker.repository import TrackerRepository

Doc = dict[str, Any]


def _get(doc: Doc, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None  # type: ignore[assignment]
    return doc


def _set(doc: Doc, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


class FakeRepository:
    def __init__(self) -> None:
        self.db: dict[str, dict[str, Doc]] = defaultdict(dict)

    # --- what tests set up and look at ---------------------------------------------------

    def add_recommendation(self, rec_id: str, **fields: Any) -> Doc:
        doc = {"_id": rec_id, "recommendation_id": rec_id, "country": "KHM", "cycle": 4,
               "text": "Register every birth free of charge", "themes": [], **fields}
        self.db[d.RECOMMENDATIONS][rec_id] = doc
        return doc

    def rec(self, rec_id: str) -> Doc:
        return self.db[d.RECOMMENDATIONS][rec_id]

    @property
    def audit_log(self) -> list[Doc]:
        return list(self.db[d.AUDIT_LOG].values())

    # --- receipts and parked commands ----------------------------------------------------

    async def processed(self, message_id: str) -> Doc | None:
        return self.db[d.PROCESSED_MESSAGES].get(message_id)

    async def processed_many(self, message_ids: Sequence[str]) -> dict[str, Doc]:
        return {i: self.db[d.PROCESSED_MESSAGES][i] for i in message_ids if i in self.db[d.PROCESSED_MESSAGES]}

    async def mark_processed(self, message_id: str, *, consumer: str, type_: str, correlation_id: str,
                             outcome: str, error: str | None = None) -> None:
        self.db[d.PROCESSED_MESSAGES][message_id] = {
            "_id": message_id, "message_id": message_id, "consumer": consumer, "type": type_,
            "correlation_id": correlation_id, "outcome": outcome, "error": error}

    async def mark_processed_many(self, receipts: Sequence[Doc]) -> None:
        for r in receipts:
            self.db[d.PROCESSED_MESSAGES].setdefault(r["message_id"], {"_id": r["message_id"], "error": None, **r})

    async def park(self, envelope: Doc, waiting_for: list[str]) -> None:
        self.db[d.PARKED_MESSAGES][envelope["event_id"]] = {
            "_id": envelope["event_id"], "envelope": envelope, "waiting_for": waiting_for,
            "occurred_at": envelope["occurred_at"]}

    async def parked_for_any(self, recommendation_ids: Sequence[str]) -> list[Doc]:
        wanted = set(recommendation_ids)
        return sorted((p for p in self.db[d.PARKED_MESSAGES].values() if wanted & set(p["waiting_for"])),
                      key=lambda p: str(p["occurred_at"]))

    async def unpark(self, message_id: str) -> None:
        self.db[d.PARKED_MESSAGES].pop(message_id, None)

    # --- recommendations -------------------------------------------------------------------

    async def recommendation(self, recommendation_id: str) -> Doc | None:
        found = self.db[d.RECOMMENDATIONS].get(recommendation_id)
        alias = self.db[d.RECOMMENDATION_ALIASES].get(recommendation_id)
        if found is None and alias is not None:
            found = self.db[d.RECOMMENDATIONS].get(alias["recommendation_id"])
        return found

    async def recommendations(self, recommendation_ids: Sequence[str]) -> dict[str, Doc]:
        found = [await self.recommendation(i) for i in recommendation_ids]
        return {doc["_id"]: doc for doc in found if doc is not None}

    async def resolve_ids(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: doc["_id"] for i in ids if (doc := await self.recommendation(i)) is not None}

    async def match_candidates(self, wanted: Sequence[Doc]) -> list[Doc]:
        places = {(w["country"], w["cycle"]) for w in wanted}
        return [r for r in self.db[d.RECOMMENDATIONS].values() if (r.get("country"), r.get("cycle")) in places]

    async def import_sources(self, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        found: dict[tuple[str, int], set[str]] = {}
        for r in self.db[d.RECOMMENDATIONS].values():
            if (r.get("country"), r.get("cycle")) in set(places):
                found.setdefault((r["country"], r["cycle"]), set()).add(str(r.get("last_import_id") or ""))
        return found

    async def set_tags(self, recommendation_id: str, fields: Doc) -> None:
        if recommendation_id in self.db[d.RECOMMENDATIONS]:
            self.db[d.RECOMMENDATIONS][recommendation_id].update(fields)

    async def save_versions(self, items: Sequence[Doc]) -> None:
        for i in items:
            rec_id = i["recommendation_id"]
            self.db[d.RECOMMENDATION_VERSIONS].setdefault(f"{rec_id}@{i['version']}", {
                "_id": f"{rec_id}@{i['version']}", "recommendation_id": rec_id, "version": i["version"],
                "changes": i.get("changes"), "source_event_id": i["event_id"]})
            self.db[d.RECOMMENDATIONS][rec_id] = {**self.db[d.RECOMMENDATIONS].get(rec_id, {}), "_id": rec_id,
                                                  **i["base"], **i["content"], "version": i["version"],
                                                  "content_hash": i["content_hash"]}

    async def versions_from_events(self, event_ids: Sequence[str]) -> dict[str, Doc]:
        return {v["source_event_id"]: v for v in self.db[d.RECOMMENDATION_VERSIONS].values()
                if v["source_event_id"] in event_ids}

    async def version_from_event(self, recommendation_id: str, event_id: str) -> Doc | None:
        return next((v for v in self.db[d.RECOMMENDATION_VERSIONS].values()
                     if v["recommendation_id"] == recommendation_id and v["source_event_id"] == event_id), None)

    async def save_aliases(self, aliases: dict[str, str]) -> None:
        for old, new in aliases.items():
            self.db[d.RECOMMENDATION_ALIASES][old] = {"_id": old, "recommendation_id": new}

    async def retire(self, recommendation_ids: Sequence[str]) -> None:
        for i in recommendation_ids:
            self.db[d.RECOMMENDATIONS].pop(i, None)

    async def save_match_reviews(self, reviews: Sequence[Doc]) -> None:
        for r in reviews:
            self.db[d.MATCH_REVIEWS][r["_id"]] = {**self.db[d.MATCH_REVIEWS].get(r["_id"], {}), **r}

    async def match_review(self, review_id: str) -> Doc | None:
        return self.db[d.MATCH_REVIEWS].get(review_id)

    async def decide_match_review(self, review_id: str, fields: Doc) -> None:
        self.db[d.MATCH_REVIEWS].setdefault(review_id, {"_id": review_id}).update(fields)

    # --- evidence and assessments ------------------------------------------------------------

    async def evidence(self, evidence_id: str) -> Doc | None:
        return self.db[d.EVIDENCE].get(evidence_id)

    async def insert_evidence(self, doc: Doc) -> bool:
        if doc["evidence_id"] in self.db[d.EVIDENCE]:
            return False
        self.db[d.EVIDENCE][doc["evidence_id"]] = {"_id": doc["evidence_id"], **doc}
        return True

    async def update_evidence(self, evidence_id: str, fields: Doc) -> Doc | None:
        doc = self.db[d.EVIDENCE].get(evidence_id)
        if doc is not None:
            doc.update(fields)
        return doc

    async def recount_evidence(self, recommendation_ids: list[str]) -> None:
        """As the adapter counts: per audience, so a viewer's count reveals nothing hidden."""
        for rec_id in recommendation_ids:
            rec = await self.recommendation(rec_id)
            if rec is None:
                continue
            names = {rec["_id"], *(rec.get("aliases") or [])}
            items = [e for e in self.db[d.EVIDENCE].values() if names & set(e["recommendation_ids"])]
            shown = [e for e in items if e.get("review_state") == "approved" and not d.evidence_held(e)]
            rec.update(evidence_count=sum(1 for e in items if e.get("review_state") != "rejected"),
                       evidence_count_coalition=len(shown),
                       evidence_count_public=sum(1 for e in shown if e.get("visibility") == "public"))

    async def assessment(self, assessment_id: str) -> Doc | None:
        return self.db[d.ASSESSMENTS].get(assessment_id)

    async def insert_assessment(self, doc: Doc) -> bool:
        if doc["assessment_id"] in self.db[d.ASSESSMENTS]:
            return False
        self.db[d.ASSESSMENTS][doc["assessment_id"]] = {"_id": doc["assessment_id"], **doc}
        return True

    # --- safeguarding holds ------------------------------------------------------------------

    async def insert_hold(self, doc: Doc) -> None:
        self.db[d.SAFEGUARDING_HOLDS].setdefault(doc["hold_id"], {"_id": doc["hold_id"], **doc})

    async def hold(self, hold_id: str) -> Doc | None:
        return self.db[d.SAFEGUARDING_HOLDS].get(hold_id)

    async def update_hold(self, hold_id: str, fields: Doc) -> None:
        self.db[d.SAFEGUARDING_HOLDS][hold_id].update(fields)

    async def show_held_text(self, places: Sequence[Doc], values: Doc, state: str) -> None:
        for place in places:
            doc = self.db[place["collection"]].get(place["id"])
            if doc is None or any(_get(doc, g["path"]) != g["value"] for g in place.get("guard", [])):
                continue
            for p in place["paths"]:
                if p["field"] in values:
                    _set(doc, p["path"], values[p["field"]])
            if place.get("state_path"):
                _set(doc, place["state_path"], state)

    # --- cycles, report drafts, API keys, audit --------------------------------------------

    async def set_milestone(self, country: str, cycle: int, milestone: str, due_on: str) -> Doc | None:
        key = f"{country}-{cycle}"
        before = dict(self.db[d.CYCLES].get(key) or {}) or None
        self.db[d.CYCLES].setdefault(key, {"_id": key, "milestones": {}})["milestones"][milestone] = due_on
        return before

    async def set_cycle_publication(self, country: str, cycle: int, published: bool) -> Doc | None:
        key = f"{country}-{cycle}"
        before = dict(self.db[d.CYCLES].get(key) or {}) or None
        self.db[d.CYCLES].setdefault(key, {"_id": key})["published"] = published
        return before

    async def save_report_draft(self, draft_id: str, doc: Doc) -> int:
        version = sum(1 for k in self.db[d.REPORT_DRAFTS] if k.startswith(f"{draft_id}@")) + 1
        self.db[d.REPORT_DRAFTS][f"{draft_id}@{version}"] = {"_id": f"{draft_id}@{version}", **doc}
        return version

    async def issue_api_key(self, doc: Doc) -> bool:
        if doc["key_id"] in self.db["api_keys"]:
            return False
        self.db["api_keys"][doc["key_id"]] = {"_id": doc["key_id"], **doc}
        return True

    async def revoke_api_key(self, key_id: str, at: Any, by: Doc) -> Doc | None:
        doc = self.db["api_keys"].get(key_id)
        if doc is not None:
            doc.update(revoked_at=at, revoked_by=by)
        return doc

    async def audit(self, entry: Doc) -> None:
        self.db[d.AUDIT_LOG].setdefault(entry["audit_id"], {"_id": entry["audit_id"], **entry})

    async def audit_many(self, entries: Sequence[Doc]) -> None:
        for e in entries:
            await self.audit(e)


def _conforms(repo: FakeRepository) -> TrackerRepository:
    return repo  # mypy checks that the fake has every call the handlers make


class Tagged:
    child_related = True
    themes = (ThemeTag(id="T05", confidence=0.9, explanation="birth registration", source="tagger"),)


class FakeTagger:
    """Tags every text T05 (birth registration)."""

    version = "fake-1"

    def tag_recommendation(self, text: str, **_: Any) -> Tagged:
        return Tagged()


async def no_examples() -> list[Doc]:
    return []


def deps(repo: FakeRepository) -> handlers.Deps:
    return handlers.Deps(repo=repo, tagger=FakeTagger(), examples=no_examples)
