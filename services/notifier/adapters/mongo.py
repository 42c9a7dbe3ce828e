"""The notifier's own collections on MongoDB (all prefixed ``notifier_``).

- ``notifier_subscriptions``    one per subscription (``_id`` = subscription id), with its secret
- ``notifier_deliveries``       the delivery log: ``_id`` = delivery id (unique by construction),
                                status, attempts (status, response code, latency, error, at)
- ``notifier_processed``        one per consumed message id, for idempotent consumption
- ``notifier_recommendations``  its projection of tracker events: cycle, themes, last evidence
- ``notifier_evidence``         evidence id -> recommendations, title (to announce approvals)
- ``notifier_deadlines``        milestones per cycle, from cycle.deadline_set

Only the subset FerretDB supports is used: no transactions, no positional operators.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

SUBSCRIPTIONS = "notifier_subscriptions"
DELIVERIES = "notifier_deliveries"
PROCESSED = "notifier_processed"
RECOMMENDATIONS = "notifier_recommendations"
EVIDENCE = "notifier_evidence"
DEADLINES = "notifier_deadlines"

INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    SUBSCRIPTIONS: [[("status", ASCENDING)], [("owner", ASCENDING)]],
    DELIVERIES: [
        [("subscription_id", ASCENDING), ("status", ASCENDING)],
        [("digest_id", ASCENDING)],
        [("status", ASCENDING)],
    ],
}


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

    async def live_subscriptions(self) -> list[dict[str, Any]]:
        return await self.db[SUBSCRIPTIONS].find({"status": {"$ne": "cancelled"}}).to_list()

    async def all_subscriptions(self) -> list[dict[str, Any]]:
        return await self.db[SUBSCRIPTIONS].find({}).sort("_id", ASCENDING).to_list()

    # --- projection of tracker events ---------------------------------------------------

    async def note_recommendation(self, rec_id: str, fields: dict[str, Any], at: datetime) -> None:
        update: dict[str, Any] = {"$setOnInsert": {"first_seen_at": at}}
        if fields:
            update["$set"] = fields
        await self.db[RECOMMENDATIONS].update_one({"_id": rec_id}, update, upsert=True)

    async def note_evidence_time(self, rec_ids: Iterable[str], at: datetime) -> None:
        """Move each recommendation's last-evidence time forward to ``at`` (never back)."""
        for rec_id in rec_ids:
            try:
                await self.db[RECOMMENDATIONS].update_one(
                    {"_id": rec_id, "$or": [{"last_evidence_at": None}, {"last_evidence_at": {"$lt": at}}]},
                    {"$set": {"last_evidence_at": at}, "$setOnInsert": {"first_seen_at": at}}, upsert=True,
                )
            except DuplicateKeyError:
                pass  # it exists with a later evidence time already

    async def recommendations(self, rec_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(set(rec_ids))
        if not ids:
            return {}
        docs = await self.db[RECOMMENDATIONS].find({"_id": {"$in": ids}}).to_list()
        return {str(d["_id"]): d for d in docs}

    async def all_recommendations(self) -> list[dict[str, Any]]:
        return await self.db[RECOMMENDATIONS].find({}).to_list()

    async def save_evidence(self, evidence_id: str, fields: dict[str, Any]) -> None:
        await self.db[EVIDENCE].update_one({"_id": evidence_id}, {"$set": fields}, upsert=True)

    async def evidence(self, evidence_id: str) -> dict[str, Any] | None:
        return await self.db[EVIDENCE].find_one({"_id": evidence_id})

    async def save_deadline(self, deadline_id: str, fields: dict[str, Any]) -> None:
        await self.db[DEADLINES].update_one({"_id": deadline_id}, {"$set": fields}, upsert=True)

    async def deadlines(self) -> list[dict[str, Any]]:
        return await self.db[DEADLINES].find({}).to_list()

    # --- delivery log --------------------------------------------------------------------

    async def add_delivery(self, doc: dict[str, Any]) -> bool:
        """Insert a delivery; False if it was already logged (the same alert, again)."""
        try:
            await self.db[DELIVERIES].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.db[DELIVERIES].find_one({"_id": delivery_id})

    async def set_delivery(self, delivery_id: str, fields: dict[str, Any]) -> None:
        await self.db[DELIVERIES].update_one({"_id": delivery_id}, {"$set": fields})

    async def record_attempt(
        self, delivery_id: str, attempt: dict[str, Any], fields: dict[str, Any] | None = None
    ) -> None:
        """Append an attempt and, in the same write, change the delivery's status if given."""
        update: dict[str, Any] = {"$push": {"attempts": attempt}, "$inc": {"attempt_count": 1}}
        if fields:
            update["$set"] = fields
        await self.db[DELIVERIES].update_one({"_id": delivery_id}, update)

    async def deliveries(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.db[DELIVERIES].find(query).sort("created_at", ASCENDING).to_list()

    async def set_deliveries(self, ids: list[str], fields: dict[str, Any]) -> None:
        if ids:
            await self.db[DELIVERIES].update_many({"_id": {"$in": ids}}, {"$set": fields})
