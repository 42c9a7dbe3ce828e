"""The notifier's own collections on MongoDB (all prefixed ``notifier_``).

- ``notifier_subscriptions``    one per subscription (``_id`` = subscription id), with its secret
- ``notifier_deliveries``       the delivery log: ``_id`` = delivery id (unique by construction),
                                status, who may send it until when (``holder``, ``next_attempt_at``),
                                attempt counts and the last error
- ``notifier_claims``           who won each round of a delivery's reservation (``_id`` = delivery id
                                + ``#`` + its ``claim_seq``): the compare-and-set of the log (see claim)
- ``notifier_attempts``         one per attempt (``_id`` = delivery id + attempt number): status,
                                response code, latency, error, at (insert-only: cheap in bulk)
- ``notifier_processed``        one per consumed message id, for idempotent consumption
- ``notifier_recommendations``  its projection of tracker events: cycle, themes, last evidence
- ``notifier_evidence``         evidence id -> recommendations, title (to announce approvals)
- ``notifier_deadlines``        milestones per cycle, from cycle.deadline_set

Only the subset FerretDB supports is used: no transactions, no positional operators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts import documents

DUPLICATE_KEY = 11000
# Bulk writes and $in lists are cut into pieces of this many (FerretDB takes up to 1,000 per command).
CHUNK = 500


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]

SUBSCRIPTIONS = documents.NOTIFIER_SUBSCRIPTIONS
DELIVERIES = "notifier_deliveries"
ATTEMPTS = "notifier_attempts"
CLAIMS = "notifier_claims"
PROCESSED = documents.NOTIFIER_PROCESSED
RECOMMENDATIONS = "notifier_recommendations"
EVIDENCE = "notifier_evidence"
DEADLINES = "notifier_deadlines"
TELEGRAM_BOT = documents.NOTIFIER_TELEGRAM_BOT  # one document: the bot's username and last poll (the UI reads it)

INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    SUBSCRIPTIONS: [[("status", ASCENDING)], [("owner", ASCENDING)]],
    # One index serves every query on deliveries (equality on its first fields is answered from
    # it): the retry loop (status, holder), a digest's alerts (status, holder None, subscription).
    # Each index makes every write dearer, and deliveries are written twice each.
    DELIVERIES: [[("status", ASCENDING), ("holder", ASCENDING), ("subscription_id", ASCENDING)]],
    ATTEMPTS: [[("delivery_id", ASCENDING)]],
}


def _claim_key(doc: Mapping[str, Any]) -> str:
    until = doc.get("next_attempt_at")
    moment = until.isoformat(timespec="milliseconds") if isinstance(until, datetime) else "-"
    return f"{doc['_id']}#{doc.get('holder')}#{moment}#{doc.get('status')}"


def now() -> datetime:
    return datetime.now(UTC)


class MongoNotifierRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    @classmethod
    def connect(cls, uri: str, db_name: str) -> MongoNotifierRepository:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        return cls(client[db_name])

    async def close(self) -> None:
        await self.db.client.close()

    async def ensure_indexes(self) -> None:
        for collection, specs in INDEXES.items():
            for keys in specs:
                await self.db[collection].create_index(keys)
        # Deliveries queued by a notifier older than the retry schedule: due now.
        await self.db[DELIVERIES].update_many(
            {"status": "queued", "next_attempt_at": {"$exists": False}},
            {"$set": {"next_attempt_at": now(), "holder": "retry", "round_attempts": 0}},
        )

    # --- idempotent consumption --------------------------------------------------------

    async def processed(self, message_id: str) -> bool:
        """Was this message applied already? A rejected one was not: a replay may apply it."""
        doc = await self.db[PROCESSED].find_one({"_id": message_id})
        return doc is not None and doc.get("outcome") != "rejected"

    async def processing_outcome(self, message_id: str) -> dict[str, Any] | None:
        return await self.db[PROCESSED].find_one({"_id": message_id})

    async def mark_processed(self, message_id: str, *, type_: str, outcome: str, error: str | None = None) -> None:
        doc = {"type": type_, "outcome": outcome, "error": error, "at": now()}
        try:  # an insert is the cheap, common case
            await self.db[PROCESSED].insert_one({"_id": message_id, **doc})
        except DuplicateKeyError:  # a message rejected before, now replayed (or rejected again)
            await self.db[PROCESSED].update_one({"_id": message_id}, {"$set": doc})

    # --- subscriptions -----------------------------------------------------------------

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return await self.db[SUBSCRIPTIONS].find_one({"_id": subscription_id})

    async def save_subscription(self, subscription_id: str, fields: dict[str, Any], on_insert: dict[str, Any]) -> None:
        await self.db[SUBSCRIPTIONS].update_one(
            {"_id": subscription_id}, {"$set": fields, "$setOnInsert": on_insert}, upsert=True
        )

    async def set_subscription(self, subscription_id: str, fields: dict[str, Any]) -> None:
        await self.db[SUBSCRIPTIONS].update_one({"_id": subscription_id}, {"$set": fields})

    async def subscription_waiting_for_link(self, link: str) -> dict[str, Any] | None:
        return await self.db[SUBSCRIPTIONS].find_one({"telegram_link_hash": link})

    async def link_telegram_chat(self, subscription_id: str, link: str, chat_id: int, now: datetime) -> bool:
        """Spend the link (compare-and-set on its hash): True when this call linked the chat."""
        result = await self.db[SUBSCRIPTIONS].update_one(
            {"_id": subscription_id, "telegram_link_hash": link, "status": "pending_confirmation"},
            {"$set": {"telegram_chat_id": chat_id, "telegram_link_hash": None, "status": "active",
                      "confirmed_at": now}})
        return result.modified_count == 1

    async def cancel_telegram_chat(self, chat_id: int, now: datetime) -> int:
        result = await self.db[SUBSCRIPTIONS].update_many(
            {"telegram_chat_id": chat_id, "status": {"$ne": "cancelled"}},
            {"$set": {"status": "cancelled", "cancelled_at": now, "cancelled_by": "/stop in Telegram"}})
        return int(result.modified_count)

    async def set_telegram_bot(self, fields: dict[str, Any]) -> None:
        """What the UI shows about the channel: the bot's name, and when it last polled."""
        await self.db[TELEGRAM_BOT].update_one({"_id": "bot"}, {"$set": fields}, upsert=True)

    async def live_subscriptions(self) -> list[dict[str, Any]]:
        return await self.db[SUBSCRIPTIONS].find({"status": {"$ne": "cancelled"}}).to_list()

    async def all_subscriptions(self) -> list[dict[str, Any]]:
        return await self.db[SUBSCRIPTIONS].find({}).sort("_id", ASCENDING).to_list()

    # --- projection of tracker events ---------------------------------------------------

    async def write_projection(
        self, recommendations: Sequence[UpdateOne], evidence: Sequence[UpdateOne], deadlines: Sequence[UpdateOne]
    ) -> None:
        """A batch's projection changes, in order, one bulk write per collection."""
        for collection, ops in ((RECOMMENDATIONS, recommendations), (EVIDENCE, evidence), (DEADLINES, deadlines)):
            for piece in _chunks(ops):
                await self.db[collection].bulk_write(list(piece), ordered=True)

    async def recommendations(self, rec_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(set(rec_ids))
        if not ids:
            return {}
        docs = await self.db[RECOMMENDATIONS].find({"_id": {"$in": ids}}).to_list()
        return {str(d["_id"]): d for d in docs}

    async def all_recommendations(self) -> list[dict[str, Any]]:
        return await self.db[RECOMMENDATIONS].find({}).to_list()

    async def evidence_many(self, evidence_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(set(evidence_ids))
        if not ids:
            return {}
        return {str(d["_id"]): d for d in await self.db[EVIDENCE].find({"_id": {"$in": ids}}).to_list()}

    async def deadlines(self) -> list[dict[str, Any]]:
        return await self.db[DEADLINES].find({}).to_list()

    # --- delivery log --------------------------------------------------------------------

    async def add_delivery(self, doc: dict[str, Any]) -> bool:
        """Insert a delivery; False if it was already logged (the same alert, again)."""
        return bool(await self.insert_deliveries([doc]))

    async def insert_deliveries(self, docs: Sequence[dict[str, Any]]) -> set[str]:
        """Insert deliveries in one unordered write; returns the ids that were new (the others
        were logged before: the same alert, again)."""
        inserted: set[str] = set()
        for piece in _chunks(docs):
            ids = [str(d["_id"]) for d in piece]
            try:
                await self.db[DELIVERIES].insert_many(list(piece), ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                duplicates = {ids[e["index"]] for e in errors}
                inserted.update(i for i in ids if i not in duplicates)
            else:
                inserted.update(ids)
        return inserted

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.db[DELIVERIES].find_one({"_id": delivery_id})

    async def deliveries_by_id(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {str(d["_id"]): d for d in await self.db[DELIVERIES].find({"_id": {"$in": wanted}}).to_list()}

    async def set_delivery(self, delivery_id: str, fields: dict[str, Any]) -> None:
        await self.db[DELIVERIES].update_one({"_id": delivery_id}, {"$set": fields})

    async def deliveries(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.db[DELIVERIES].find(query).sort("created_at", ASCENDING).to_list()

    async def set_deliveries(
        self, ids: list[str], fields: dict[str, Any], query: Mapping[str, Any] | None = None
    ) -> None:
        """One write for many deliveries given the same fields (cheaper than one per delivery)."""
        for piece in _chunks(ids):
            await self.db[DELIVERIES].update_many({"_id": {"$in": list(piece)}, **(query or {})}, {"$set": fields})

    async def update_deliveries(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Different fields for each delivery, in one bulk write."""
        for piece in _chunks(updates):
            await self.db[DELIVERIES].bulk_write(
                [UpdateOne({"_id": did}, {"$set": fields}) for did, fields in piece], ordered=False)

    async def claim(
        self, ids: Sequence[str], query: Mapping[str, Any], fields: Mapping[str, Any], token: str,
    ) -> list[dict[str, Any]]:
        """Compare-and-set on many deliveries at once: those of ``ids`` still matching ``query``
        get ``holder = token`` (plus ``fields``); returns the ones this call won.

        A conditional update is no compare-and-set on FerretDB: it reads, then writes, so two
        claimers that read the same document both "won" (measured: a few rounds in a hundred
        with four claimers) and the delivery went out twice. A unique ``_id`` is what it does
        enforce: each claimer inserts a claim named after the state it read (delivery id,
        holder, reservation, status); of those that read the same state only one insert lands,
        and only that one moves the delivery on (on condition that it is still in that state)."""
        if not ids:
            return []
        candidates = await self.db[DELIVERIES].find({"_id": {"$in": list(ids)}, **query}).to_list()
        if not candidates:
            return []
        at = now()
        rounds = {_claim_key(d): d for d in candidates}
        keys = list(rounds)
        lost: set[str] = set()
        try:
            await self.db[CLAIMS].insert_many(
                [{"_id": key, "delivery_id": rounds[key]["_id"], "holder": token, "at": at} for key in keys],
                ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                if error.get("code") != DUPLICATE_KEY:
                    raise
                lost.add(keys[int(error["index"])])
        won = [d for key, d in rounds.items() if key not in lost]
        if not won:
            return []
        await self.db[DELIVERIES].bulk_write([
            UpdateOne({"_id": d["_id"], "holder": d.get("holder"), "next_attempt_at": d.get("next_attempt_at"),
                       "status": d.get("status")}, {"$set": {**fields, "holder": token}})
            for d in won], ordered=False)
        # Claims are kept (one small document per retry or take-over): a state once claimed
        # must stay claimed for a claimer that read it long ago.
        return await self.db[DELIVERIES].find({"_id": {"$in": [d["_id"] for d in won]}, "holder": token}).to_list()

    async def due_deliveries(
        self, at: datetime, limit: int, holder: str | Sequence[str] | None = None,
    ) -> list[str]:
        """Queued deliveries whose reservation or wait is over (the retry loop's work); only
        those of ``holder`` (one, or any of several) when given: a cheaper query, answered from
        the index, where without it every queued delivery is decoded on the embedded FerretDB."""
        query: dict[str, Any] = {"status": "queued", "next_attempt_at": {"$lte": at}}
        if isinstance(holder, str):
            query = {"status": "queued", "holder": holder, "next_attempt_at": {"$lte": at}}
        elif holder is not None:
            query = {"status": "queued", "holder": {"$in": list(holder)}, "next_attempt_at": {"$lte": at}}
        docs = await self.db[DELIVERIES].find(query, {"_id": 1}).limit(limit).to_list()
        return [str(d["_id"]) for d in docs]

    # --- attempts ------------------------------------------------------------------------

    async def add_attempts(self, attempts: Sequence[dict[str, Any]]) -> None:
        """Insert attempt records (``_id`` = delivery id + number: a repeated write adds nothing)."""
        for piece in _chunks(attempts):
            try:
                await self.db[ATTEMPTS].insert_many(list(piece), ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                    raise

    async def attempts(self, delivery_id: str) -> list[dict[str, Any]]:
        return await self.db[ATTEMPTS].find({"delivery_id": delivery_id}).sort("number", ASCENDING).to_list()

    async def subscriptions_by_id(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {str(d["_id"]): d for d in await self.db[SUBSCRIPTIONS].find({"_id": {"$in": wanted}}).to_list()}

    async def set_subscriptions(self, ids: list[str], fields: dict[str, Any], query: Mapping[str, Any]) -> None:
        if ids:
            await self.db[SUBSCRIPTIONS].update_many({"_id": {"$in": ids}, **query}, {"$set": fields})
