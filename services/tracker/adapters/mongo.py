"""The tracker's repository on MongoDB (PyMongo's async API, Motor's successor).

Every write is idempotent: keyed on a stable id with a unique index, so a message
delivered twice leaves one document. Only the query subset FerretDB supports is used
(see INFRA.md): no transactions, no $lookup, summaries computed in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts import documents as d
from contracts.api_keys import COLLECTION as API_KEYS
from services.tracker.adapters.dashboard_store import DashboardStore
from services.tracker.adapters.recent_receipts import RecentReceipts
from services.tracker.domain.matching import base_paragraph
from services.tracker.domain.merging import stored_meta

# Only indexes some query uses: each one costs on every write (an imported recommendation
# with 8 indexes cost the embedded server ~40% more than with none, bench/document_costs.py).
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    d.RECOMMENDATIONS: [
        ([("cycle", ASCENDING), ("position", ASCENDING)], {}),  # filters by cycle (UI, read API)
        ([("themes", ASCENDING)], {}),  # filters by theme
        ([("cncc_status", ASCENDING)], {}),  # filters by (official) status
        ([("disagreement", ASCENDING)], {}),  # "disagreements only"
        ([("corrected", ASCENDING)], {}),  # the tagger's confirmed examples
        # Match candidates: the base paragraph, "-" for none (a string: null is not pushed down);
        # its (country, cycle) prefix serves the Dashboard's recounts and the report.
        ([("country", ASCENDING), ("cycle", ASCENDING), ("match_paragraph", ASCENDING)], {}),
    ],
    d.RECOMMENDATION_VERSIONS: [
        ([("recommendation_id", ASCENDING), ("version", ASCENDING)], {"unique": True}),
        ([("source_event_id", ASCENDING)], {}),
    ],
    d.EVIDENCE: [
        ([("recommendation_ids", ASCENDING)], {}),
        ([("review_state", ASCENDING)], {}),
        # What anonymous callers may see: the embedded FerretDB pushes down the longest indexed
        # equality, so a recommendation's public evidence no longer decodes every item (an array
        # field such as recommendation_ids always matches there).
        ([("review_state", ASCENDING), ("visibility", ASCENDING)], {}),
    ],
    d.ASSESSMENTS: [([("recommendation_id", ASCENDING), ("at", DESCENDING)], {})],
    d.AUDIT_LOG: [
        ([("subject_id", ASCENDING), ("at", DESCENDING)], {}),
        ([("at", DESCENDING)], {}),
    ],
    # Receipts are read by ``_id`` only (the tracker, `upr import --wait`, the UI).
    d.PROCESSED_MESSAGES: [],
    d.PARKED_MESSAGES: [
        ([("waiting_for", ASCENDING), ("occurred_at", ASCENDING)], {}),
        ([("parked_at", ASCENDING)], {}),
    ],
    d.REPORT_DRAFTS: [
        ([("country", ASCENDING), ("cycle", ASCENDING), ("section", ASCENDING), ("version", DESCENDING)], {}),
    ],
    d.USERS: [([("username", ASCENDING)], {"unique": True})],
    d.SAFEGUARDING_HOLDS: [([("state", ASCENDING), ("submitted_at", ASCENDING)], {})],
    d.TEXT_KEYS: [([("item", ASCENDING)], {})],
    d.MATCH_REVIEWS: [([("state", ASCENDING), ("at", ASCENDING)], {})],
    d.IMPORT_SOURCES: [([("country", ASCENDING), ("cycle", ASCENDING)], {})],  # import_sources()
}

# Indexes that were defined once and that no query uses any more: dropped at start-up, so an
# existing database (MongoDB in production too) stops paying for them on every write.
RETIRED_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    d.RECOMMENDATIONS: [
        [("cso_status", ASCENDING)],  # no query filters on the CSO status
        [("country", ASCENDING), ("cycle", ASCENDING), ("paragraph", ASCENDING)],  # match_paragraph's serves
    ],
    d.PROCESSED_MESSAGES: [[("correlation_id", ASCENDING), ("outcome", ASCENDING)]],  # never queried
}


# Operations per bulk call: well under what any server takes in one command (MongoDB's
# maxWriteBatchSize is 100,000; the embedded FerretDB is measured to 1,000 in bench/storage_bench.py).
BULK_CHUNK = 500
NO_PARAGRAPH = "-"  # ``match_paragraph`` of a recommendation without a paragraph number


def now() -> datetime:
    return datetime.now(UTC)


def _recommendation_fields(
    *, recommendation_id: str, base: dict[str, Any], content: dict[str, Any], version: int,
    content_hash: str, at: datetime, **_: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a stored version sets on the recommendation, and the defaults of a new one."""
    fields = {**base, **content, "version": version, "content_hash": content_hash, "updated_at": at,
              "match_paragraph": base_paragraph(content.get("paragraph")) or NO_PARAGRAPH}
    fields = {k: v for k, v in stored_meta({"_id": recommendation_id, **fields}).items() if k != "_id"}
    defaults = {
        "recommendation_id": recommendation_id, "created_at": at, "child_related": False,
        "themes": [], "theme_tags": [], "themes_added_by_people": [],
        "themes_removed_by_people": [], "disagreement": False, "evidence_count": 0,
        "evidence_count_coalition": 0, "evidence_count_public": 0,
        "cso_status": None, "cncc_status": None,
    }
    return fields, defaults


def _source(doc: dict[str, Any]) -> tuple[str, int, str]:
    """(country, cycle, import id) of a stored recommendation or of what is about to be stored."""
    return str(doc.get("country") or ""), int(doc.get("cycle") or 0), str(doc.get("last_import_id") or "")


def _chunks(items: Sequence[Any], size: int = BULK_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def find_in(
    collection: AsyncCollection[dict[str, Any]], field: str, values: Sequence[Any],
) -> dict[Any, dict[str, Any]]:
    """Documents whose ``field`` is one of ``values``, by that field: one query per chunk."""
    found: dict[Any, dict[str, Any]] = {}
    for chunk in _chunks(values):
        async for doc in collection.find({field: {"$in": list(chunk)}}):
            found[doc[field]] = doc
    return found


async def insert_many_once(collection: AsyncCollection[dict[str, Any]], docs: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert documents keyed by deterministic ids; the ones stored before (a redelivery) are
    skipped. Their ids."""
    stored_before: set[Any] = set()
    for chunk in _chunks(docs):
        try:
            await collection.insert_many(list(chunk), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            stored_before.update(chunk[e["index"]]["_id"] for e in errors)
    return stored_before


def _held(evidence: dict[str, Any]) -> bool:
    # The same rule as EvidenceDoc.held, on a raw document.
    state = evidence.get("safeguarding_state")
    return state == d.HELD or (state is None and bool(evidence.get("safeguarding_flags")))


class MongoTrackerRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], instance: str = "",
                 recent_receipts: RecentReceipts | None = None) -> None:
        self.db = db
        self.instance = instance
        self._registered: set[tuple[str, int, str]] = set()  # import sources written (never removed)
        self.recent_receipts = recent_receipts or RecentReceipts(0)

    @classmethod
    def connect(cls, uri: str, db_name: str, instance: str = "",
                recent_receipts: RecentReceipts | None = None) -> MongoTrackerRepository:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        return cls(client[db_name], instance, recent_receipts)

    async def close(self) -> None:
        await self.db.client.close()

    async def ensure_indexes(self) -> None:
        for collection, specs in INDEXES.items():
            for keys, options in specs:
                await self.db[collection].create_index(keys, **options)
        for collection, retired in RETIRED_INDEXES.items():
            existing = {tuple(info["key"].items()) async for info in await self.db[collection].list_indexes()}
            for keys in retired:
                if tuple(keys) in existing:
                    await self.db[collection].drop_index(keys)
        await self._mark_corrected_once()
        await self._count_evidence_by_audience_once()
        await self._set_match_paragraph_once()
        await self._register_import_sources_once()
        # A database without recommendations yet: its Dashboard summaries are complete as they are.
        await DashboardStore(self.db).ready()

    async def _count_evidence_by_audience_once(self) -> None:
        """Data stored before counts per audience existed: count them once (until then a viewer
        would see 0, never more than they may)."""
        if await self.db[d.MIGRATIONS].find_one({"_id": "recommendations.evidence_count_by_audience"}) is not None:
            return
        ids = sorted({rid async for doc in self.db[d.EVIDENCE].find({}, {"recommendation_ids": 1})
                      for rid in doc.get("recommendation_ids", [])})
        await self.recount_evidence(ids)
        try:
            await self.db[d.MIGRATIONS].insert_one({"_id": "recommendations.evidence_count_by_audience", "at": now()})
        except DuplicateKeyError:
            pass

    async def _set_match_paragraph_once(self) -> None:
        """Data stored before matching across sources: give every recommendation its
        ``match_paragraph`` once, so the matcher finds it."""
        if await self.db[d.MIGRATIONS].find_one({"_id": "recommendations.match_paragraph"}) is not None:
            return
        ops = [UpdateOne({"_id": doc["_id"]},
                         {"$set": {"match_paragraph": base_paragraph(doc.get("paragraph")) or NO_PARAGRAPH}})
               async for doc in self.db[d.RECOMMENDATIONS].find({}, {"paragraph": 1})]
        for chunk in _chunks(ops):
            await self.db[d.RECOMMENDATIONS].bulk_write(list(chunk), ordered=False)
        try:
            await self.db[d.MIGRATIONS].insert_one({"_id": "recommendations.match_paragraph", "at": now()})
        except DuplicateKeyError:
            pass

    async def _register_import_sources_once(self) -> None:
        """Data stored before the import sources were kept: register, once, the import of every
        stored recommendation, so the matcher keeps finding them."""
        if await self.db[d.MIGRATIONS].find_one({"_id": "import_sources"}) is not None:
            return
        fields = {"country": 1, "cycle": 1, "last_import_id": 1}
        await self._register_sources({_source(doc) async for doc in self.db[d.RECOMMENDATIONS].find({}, fields)})
        try:
            await self.db[d.MIGRATIONS].insert_one({"_id": "import_sources", "at": now()})
        except DuplicateKeyError:
            pass

    async def _register_sources(self, sources: set[tuple[str, int, str]]) -> None:
        """Idempotent upserts by a deterministic id: two trackers registering one source leave one
        document, and a registration is never undone (a superset only costs a query)."""
        new = sorted(sources - self._registered)
        ops = [UpdateOne({"_id": f"{country}-{cycle}:{import_id}"},
                         {"$setOnInsert": {"country": country, "cycle": cycle, "import_id": import_id}}, upsert=True)
               for country, cycle, import_id in new]
        for chunk in _chunks(ops):
            await self.db[d.IMPORT_SOURCES].bulk_write(list(chunk), ordered=False)
        self._registered.update(new)

    async def import_sources(self, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        found: dict[tuple[str, int], set[str]] = {}
        wanted = set(places)
        # One indexed "$in" on the leading field for a batch ("$or" is not pushed down; one query a
        # place was 18 round trips a batch of a UHRI file); the cycles are picked here.
        for countries in _chunks(sorted({country for country, _ in wanted})):
            async for doc in self.db[d.IMPORT_SOURCES].find({"country": {"$in": list(countries)}}):
                place = (str(doc.get("country")), int(doc.get("cycle") or 0))
                if place in wanted:
                    found.setdefault(place, set()).add(str(doc.get("import_id") or ""))
        return found

    async def _mark_corrected_once(self) -> None:
        """Data stored before the ``corrected`` flag existed: flag people's corrections once."""
        if await self.db[d.MIGRATIONS].find_one({"_id": "recommendations.corrected"}) is not None:
            return
        await self.db[d.RECOMMENDATIONS].update_many(
            {"$or": [{"themes_added_by_people.0": {"$exists": True}},
                     {"themes_removed_by_people.0": {"$exists": True}}]},
            {"$set": {"corrected": True}},
        )
        try:
            await self.db[d.MIGRATIONS].insert_one({"_id": "recommendations.corrected", "at": now()})
        except DuplicateKeyError:
            pass

    async def ping(self) -> bool:
        await self.db.command("ping")
        return True

    # --- idempotency -------------------------------------------------------------------

    async def processed(self, message_id: str) -> dict[str, Any] | None:
        return (await self.processed_many([message_id])).get(message_id)

    async def mark_processed(
        self, message_id: str, *, consumer: str, type_: str, correlation_id: str, outcome: str,
        error: str | None = None,
    ) -> None:
        doc = {
            "message_id": message_id, "consumer": consumer, "type": type_,
            "correlation_id": correlation_id, "outcome": outcome, "error": error, "at": now(),
            "instance": self.instance,
        }
        try:
            await self.db[d.PROCESSED_MESSAGES].insert_one({"_id": message_id, **doc})
        except DuplicateKeyError:  # a parked message, now applied (an insert is much cheaper than an upsert)
            await self.db[d.PROCESSED_MESSAGES].update_one({"_id": message_id}, {"$set": doc})
        self.recent_receipts.remember([{"_id": message_id, **doc}])

    async def processed_many(self, message_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Receipts of these messages, by message id: those this tracker stored lately from
        memory, the others with one query for a whole batch."""
        found, missing = self.recent_receipts.known(message_ids)
        if missing:
            found.update(await find_in(self.db[d.PROCESSED_MESSAGES], "_id", missing))
        return found

    async def mark_processed_many(self, receipts: Sequence[dict[str, Any]]) -> None:
        """Receipts for a batch: ``message_id``, ``type``, ``correlation_id``, ``outcome``."""
        at = now()
        docs = [{"_id": r["message_id"], "consumer": r.get("consumer", "tracker"), "error": None, "at": at,
                 "instance": self.instance, **r} for r in receipts]
        stored_before = await insert_many_once(self.db[d.PROCESSED_MESSAGES], docs)
        # Not those stored before: what the database holds for them may say something else.
        self.recent_receipts.remember(doc for doc in docs if doc["_id"] not in stored_before)

    # --- parked messages (waiting for a recommendation to be imported) -------------------

    async def park(self, envelope: dict[str, Any], waiting_for: list[str]) -> None:
        await self.db[d.PARKED_MESSAGES].update_one(
            {"_id": envelope["event_id"]},
            {"$set": {"envelope": envelope, "waiting_for": waiting_for, "occurred_at": envelope["occurred_at"]},
             "$setOnInsert": {"parked_at": now()}},
            upsert=True,
        )

    async def parked_for(self, recommendation_id: str) -> list[dict[str, Any]]:
        cursor = self.db[d.PARKED_MESSAGES].find({"waiting_for": recommendation_id}).sort("occurred_at", ASCENDING)
        return [doc async for doc in cursor]

    async def parked_before(self, moment: datetime) -> list[dict[str, Any]]:
        cursor = self.db[d.PARKED_MESSAGES].find({"parked_at": {"$lt": moment}}).sort("occurred_at", ASCENDING)
        return [doc async for doc in cursor]

    async def unpark(self, message_id: str) -> None:
        await self.db[d.PARKED_MESSAGES].delete_one({"_id": message_id})

    # --- recommendations ---------------------------------------------------------------

    async def recommendation(self, recommendation_id: str) -> dict[str, Any] | None:
        """By id, or by an old id it had before two sources were merged (an alias)."""
        found = await self.db[d.RECOMMENDATIONS].find_one({"_id": recommendation_id})
        if found is None:
            alias = await self.db[d.RECOMMENDATION_ALIASES].find_one({"_id": recommendation_id})
            if alias is not None:
                found = await self.db[d.RECOMMENDATIONS].find_one({"_id": alias["recommendation_id"]})
        return found

    async def recommendations(self, recommendation_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored recommendations by id, and those that have one of these ids as an alias
        (by their own id). Only ``_id`` lookups: one query per chunk and collection."""
        wanted = sorted(set(recommendation_ids))
        found = await find_in(self.db[d.RECOMMENDATIONS], "_id", wanted)
        missing = [i for i in wanted if i not in found]
        if missing:
            aliases = await find_in(self.db[d.RECOMMENDATION_ALIASES], "_id", missing)
            targets = sorted({str(a["recommendation_id"]) for a in aliases.values()} - set(found))
            if targets:
                found.update(await find_in(self.db[d.RECOMMENDATIONS], "_id", targets))
        return found

    async def match_candidates(self, wanted: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Recommendations an imported row without a known id may be (one query per batch).

        ``wanted``: ``country``, ``cycle`` and ``paragraphs``: for rows with a paragraph, the
        stored ones with that paragraph or none (an indexed lookup); ``None`` for rows
        without one: every recommendation of that country and cycle."""
        clauses: list[dict[str, Any]] = []
        for want in wanted:
            clause: dict[str, Any] = {"country": want["country"], "cycle": want["cycle"]}
            if want.get("paragraphs") is not None:
                clause["match_paragraph"] = {"$in": [NO_PARAGRAPH, *sorted(want["paragraphs"])]}
            clauses.append(clause)
        found: dict[str, dict[str, Any]] = {}
        for clause in clauses:  # one query each: "$or" is not pushed down to the embedded server's indexes
            async for doc in self.db[d.RECOMMENDATIONS].find(clause):
                found[doc["_id"]] = doc
        return [found[k] for k in sorted(found)]

    async def save_aliases(self, aliases: dict[str, str]) -> None:
        """Old id -> current id (idempotent upserts, after the recommendation is stored)."""
        ops = [UpdateOne({"_id": old}, {"$set": {"recommendation_id": new}}, upsert=True)
               for old, new in sorted(aliases.items())]
        for chunk in _chunks(ops):
            await self.db[d.RECOMMENDATION_ALIASES].bulk_write(list(chunk), ordered=True)

    async def retire(self, recommendation_ids: Sequence[str]) -> None:
        """Remove the documents of ids upgraded to paragraph-based ones (their successor holds
        them as aliases). Idempotent: a redelivery removes nothing more."""
        if recommendation_ids:
            await self.db[d.RECOMMENDATIONS].delete_many({"_id": {"$in": sorted(set(recommendation_ids))}})

    async def resolve_ids(self, ids: Sequence[str]) -> dict[str, str]:
        """Given ids (current or aliases) -> current ids, for those that exist."""
        out: dict[str, str] = {}
        for doc in (await self.recommendations(ids)).values():
            for name in [doc["_id"], *(doc.get("aliases") or [])]:
                if name in ids:
                    out[name] = doc["_id"]
        return out

    async def versions_from_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Versions stored by these messages, by message id: a redelivered batch re-announces them."""
        return await find_in(self.db[d.RECOMMENDATION_VERSIONS], "source_event_id", event_ids)

    async def parked_for_any(self, recommendation_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Parked messages waiting for any of these recommendations, oldest first."""
        if not recommendation_ids:
            return []
        wanted = set(recommendation_ids)
        cursor = self.db[d.PARKED_MESSAGES].find({"waiting_for": {"$in": sorted(wanted)}})
        parked = [doc async for doc in cursor]
        return sorted(parked, key=lambda doc: (str(doc.get("occurred_at")), doc["_id"]))

    async def save_versions(self, items: Sequence[dict[str, Any]]) -> None:
        """Bulk form of :meth:`save_version`, same order of writes (history first)."""
        if not items:
            return
        # Before anything is stored: a recommendation whose import is not registered would be
        # invisible to the matcher of another source (import_sources).
        await self._register_sources({_source(i["base"]) for i in items})
        versions = {f"{i['recommendation_id']}@{i['version']}": {
            "_id": f"{i['recommendation_id']}@{i['version']}", "recommendation_id": i["recommendation_id"],
            "version": i["version"], "changes": i["changes"], "source_event_id": i["event_id"], "at": i["at"],
            # A first version leaves its content to the recommendation until the next one (below).
            **({} if i.get("deferred_snapshot") else {"snapshot": i["content"]}),
            # Which source said this, and the id this version replaced (an id upgrade).
            **({"source": i["base"]["source"]} if "source" in i.get("base", {}) else {}),
            **({"retired": i["retired"]} if i.get("retired") else {}),
        } for i in items}
        # The version each new one follows gets its content now, before the recommendation moves on.
        backfill: list[UpdateOne] = []
        for previous in (i["previous"] for i in items if i.get("previous")):
            if previous["_id"] in versions:
                versions[previous["_id"]].setdefault("snapshot", previous["snapshot"])
            else:
                backfill.append(UpdateOne({"_id": previous["_id"], "snapshot": {"$exists": False}},
                                          {"$set": {"snapshot": previous["snapshot"]}}))
        for chunk in _chunks(backfill):
            await self.db[d.RECOMMENDATION_VERSIONS].bulk_write(list(chunk), ordered=False)
        await insert_many_once(self.db[d.RECOMMENDATION_VERSIONS], list(versions.values()))
        # New recommendations are inserted (an insert costs a tenth of an upsert on the embedded
        # server); one stored meanwhile (a redelivery) falls back to the upsert, in order.
        new = [i for i in items if i.get("new")]
        clashed: set[str] = set()
        for chunk in _chunks(new):
            try:
                await self.db[d.RECOMMENDATIONS].insert_many([self._new_recommendation(**i) for i in chunk],
                                                             ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != 11000 for e in errors):
                    raise
                clashed.update(chunk[e["index"]]["recommendation_id"] for e in errors)
        upserts = [self._recommendation_upsert(**i) for i in items
                   if not i.get("new") or i["recommendation_id"] in clashed]
        for chunk in _chunks(upserts):
            await self.db[d.RECOMMENDATIONS].bulk_write(list(chunk), ordered=True)

    def _new_recommendation(self, **item: Any) -> dict[str, Any]:
        fields, defaults = _recommendation_fields(**item)
        return {"_id": item["recommendation_id"], **defaults, **fields}

    def _recommendation_upsert(self, **item: Any) -> UpdateOne:
        fields, defaults = _recommendation_fields(**item)
        update = {"$set": fields, "$setOnInsert": {k: v for k, v in defaults.items() if k not in fields}}
        # Left out when the document itself says the same (merging.stored_meta): not kept stale.
        dropped = {k: "" for k in ("sources", "field_sources") if k not in fields}
        return UpdateOne({"_id": item["recommendation_id"]}, {**update, **({"$unset": dropped} if dropped else {})},
                         upsert=True)

    async def audit_many(self, entries: Sequence[dict[str, Any]]) -> None:
        await insert_many_once(self.db[d.AUDIT_LOG], [{"_id": e["audit_id"], **e} for e in entries])

    async def existing_ids(self, ids: list[str]) -> set[str]:
        """The given ids that resolve to a recommendation (their own id or an alias)."""
        return set(await self.resolve_ids(ids))

    async def version_from_event(self, recommendation_id: str, event_id: str) -> dict[str, Any] | None:
        return await self.db[d.RECOMMENDATION_VERSIONS].find_one(
            {"recommendation_id": recommendation_id, "source_event_id": event_id}
        )

    async def save_version(
        self, *, recommendation_id: str, base: dict[str, Any], content: dict[str, Any], version: int,
        content_hash: str, changes: list[dict[str, Any]], event_id: str, at: datetime,
    ) -> None:
        # History first: if we crash after it, the redelivered message finds it and
        # re-announces the same version instead of calling it unchanged.
        await self.save_versions([{
            "recommendation_id": recommendation_id, "base": base, "content": content, "version": version,
            "content_hash": content_hash, "changes": changes, "event_id": event_id, "at": at,
        }])

    async def set_tags(self, recommendation_id: str, fields: dict[str, Any]) -> None:
        await self.db[d.RECOMMENDATIONS].update_one({"_id": recommendation_id}, {"$set": fields})

    async def confirmed_examples(self, limit: int = 5000) -> list[dict[str, Any]]:
        """Recommendations whose themes people corrected: the tagger learns from them."""
        # An indexed flag, not "$exists" on array elements: that would decode every document.
        cursor = self.db[d.RECOMMENDATIONS].find(
            {"corrected": True}, {"text": 1, "themes": 1, "child_related": 1},
        ).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    # --- evidence ----------------------------------------------------------------------

    async def insert_evidence(self, doc: dict[str, Any]) -> bool:
        """False when this evidence id was stored before (a redelivery)."""
        try:
            await self.db[d.EVIDENCE].insert_one({"_id": doc["evidence_id"], **doc})
            return True
        except DuplicateKeyError:
            return False

    async def evidence(self, evidence_id: str) -> dict[str, Any] | None:
        return await self.db[d.EVIDENCE].find_one({"_id": evidence_id})

    async def update_evidence(self, evidence_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        return await self.db[d.EVIDENCE].find_one_and_update(
            {"_id": evidence_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
        )

    async def recount_evidence(self, recommendation_ids: list[str]) -> None:
        """Count each recommendation's evidence per audience (see RecommendationDoc): a viewer's
        count must not reveal that pending, held or coalition-only evidence exists."""
        # Counted, not incremented: a redelivered message cannot double it. Evidence attached
        # under an old id (an alias) counts for the recommendation that id now is.
        fields = {"review_state": 1, "visibility": 1, "safeguarding_flags": 1, "safeguarding_state": 1}
        for rec_id in recommendation_ids:
            doc = await self.recommendation(rec_id)
            if doc is None:
                continue
            names = [doc["_id"], *(doc.get("aliases") or [])]
            items = [e async for e in self.db[d.EVIDENCE].find({"recommendation_ids": {"$in": names}}, fields)]
            shown = [e for e in items if e.get("review_state") == "approved" and not _held(e)]
            await self.db[d.RECOMMENDATIONS].update_one({"_id": doc["_id"]}, {"$set": {
                "evidence_count": sum(1 for e in items if e.get("review_state") != "rejected"),
                "evidence_count_coalition": len(shown),
                "evidence_count_public": sum(1 for e in shown if e.get("visibility") == "public"),
            }})

    # --- ambiguous import rows, for a reviewer (domain/match_reviews.py) -----------------

    async def save_match_reviews(self, reviews: Sequence[dict[str, Any]]) -> None:
        """Upserts keyed by source and row id: a redelivery or a second import of the file
        refreshes the entry (pending again) instead of adding one."""
        ops = [UpdateOne({"_id": r["_id"]}, {"$set": {k: v for k, v in r.items() if k != "_id"}}, upsert=True)
               for r in reviews]
        for chunk in _chunks(ops):
            await self.db[d.MATCH_REVIEWS].bulk_write(list(chunk), ordered=True)

    async def match_review(self, review_id: str) -> dict[str, Any] | None:
        return await self.db[d.MATCH_REVIEWS].find_one({"_id": review_id})

    async def decide_match_review(self, review_id: str, fields: dict[str, Any]) -> None:
        await self.db[d.MATCH_REVIEWS].update_one({"_id": review_id}, {"$set": fields})

    # --- safeguarding holds ------------------------------------------------------------

    async def insert_hold(self, doc: dict[str, Any]) -> None:
        try:
            await self.db[d.SAFEGUARDING_HOLDS].insert_one({"_id": doc["hold_id"], **doc})
        except DuplicateKeyError:
            pass  # a redelivery

    async def hold(self, hold_id: str) -> dict[str, Any] | None:
        return await self.db[d.SAFEGUARDING_HOLDS].find_one({"_id": hold_id})

    async def update_hold(self, hold_id: str, fields: dict[str, Any]) -> None:
        await self.db[d.SAFEGUARDING_HOLDS].update_one({"_id": hold_id}, {"$set": fields})

    async def show_held_text(self, places: Sequence[dict[str, Any]], values: dict[str, Any], state: str) -> None:
        """Write what held text now shows into every place it appears (field paths per document)."""
        # Paths are stored as {"path", "field"} items: a document's keys may not contain "."
        # (and FerretDB stores no nested arrays).
        for place in places:
            fields = {p["path"]: values[p["field"]] for p in place["paths"] if p["field"] in values}
            if place.get("state_path"):
                fields[place["state_path"]] = state
            if fields:
                guard = {g["path"]: g["value"] for g in place.get("guard", [])}
                await self.db[place["collection"]].update_one({"_id": place["id"], **guard}, {"$set": fields})

    # --- assessments -------------------------------------------------------------------

    async def assessment(self, assessment_id: str) -> dict[str, Any] | None:
        return await self.db[d.ASSESSMENTS].find_one({"_id": assessment_id})

    async def insert_assessment(self, doc: dict[str, Any]) -> bool:
        try:
            await self.db[d.ASSESSMENTS].insert_one({"_id": doc["assessment_id"], **doc})
            return True
        except DuplicateKeyError:
            return False

    # --- audit, cycles, drafts ---------------------------------------------------------

    async def audit(self, entry: dict[str, Any]) -> None:
        try:
            await self.db[d.AUDIT_LOG].insert_one({"_id": entry["audit_id"], **entry})
        except DuplicateKeyError:
            pass

    async def set_milestone(self, country: str, cycle: int, milestone: str, due_on: str) -> dict[str, Any] | None:
        before = await self.db[d.CYCLES].find_one({"_id": f"{country}-{cycle}"})
        await self.db[d.CYCLES].update_one(
            {"_id": f"{country}-{cycle}"},
            {"$set": {f"milestones.{milestone}": due_on, "country": country, "cycle": cycle}},
            upsert=True,
        )
        return before

    async def set_cycle_publication(self, country: str, cycle: int, published: bool) -> dict[str, Any] | None:
        before = await self.db[d.CYCLES].find_one({"_id": f"{country}-{cycle}"})
        await self.db[d.CYCLES].update_one(
            {"_id": f"{country}-{cycle}"},
            {"$set": {"published": published, "country": country, "cycle": cycle}},
            upsert=True,
        )
        return before

    async def issue_api_key(self, doc: dict[str, Any]) -> bool:
        """Store a new key; False when one with this id exists (a redelivery, or a clash)."""
        result = await self.db[API_KEYS].update_one({"_id": doc["key_id"]}, {"$setOnInsert": doc}, upsert=True)
        return result.upserted_id is not None

    async def revoke_api_key(self, key_id: str, at: Any, by: dict[str, Any]) -> dict[str, Any] | None:
        """Mark the key revoked (the first time only); returns it as it was, None if unknown."""
        before = await self.db[API_KEYS].find_one({"_id": key_id})
        if before is not None and before.get("revoked_at") is None:
            await self.db[API_KEYS].update_one({"_id": key_id, "revoked_at": None},
                                               {"$set": {"revoked_at": at, "revoked_by": by}})
        return before

    async def save_report_draft(self, draft_id: str, doc: dict[str, Any]) -> int:
        """Store a new version of a report section; returns its version number."""
        existing = await self.db[d.REPORT_DRAFTS].find_one({"_id": draft_id})
        if existing is not None:
            return int(existing["version"])
        latest = await self.db[d.REPORT_DRAFTS].find_one(
            {"country": doc["country"], "cycle": doc["cycle"], "section": doc["section"],
             "language": doc["language"]},
            sort=[("version", DESCENDING)],
        )
        version = (int(latest["version"]) if latest else 0) + 1
        await self.db[d.REPORT_DRAFTS].insert_one({"_id": draft_id, **doc, "version": version})
        return version
