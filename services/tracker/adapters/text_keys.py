"""The tracker's key store for sealed command text (contracts/sealed_text.py), in ``text_keys``.

One document per sealed command: ``{_id: key id, item: hold id, key: data key}``. A command's
data key is unwrapped once with the tracker's private key and kept here, so the text can be
opened again (a parked command, a replay). Erasing an item deletes the keys of all its commands
and leaves a marker, so a copy read again from Kafka is refused instead of unwrapped anew.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts import documents as d
from contracts.events import Contract
from contracts.sealed_text import (
    DEV_KEK_ID,
    TextUnreadable,
    dev_text_private_key,
    open_sealed,
    parse_text_keks,
    sealed_box,
    unwrap,
)
from services.tracker.settings import TrackerSettings


def text_keks(settings: TrackerSettings) -> dict[str, X25519PrivateKey]:
    """``UPR_TEXT_KEK`` (dev mode, when unset: the dev key); ValueError outside dev mode without it."""
    if settings.text_kek:
        return parse_text_keks(settings.text_kek)
    if settings.dev_mode:
        return {DEV_KEK_ID: dev_text_private_key()}
    raise ValueError("UPR_TEXT_KEK must hold the tracker's private text key(s) (id:base64, from `upr keys new`), "
                     "or set UPR_ENV=dev for a local, non-production run")


class TextKeys:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], keks: dict[str, X25519PrivateKey]) -> None:
        self.collection = db[d.TEXT_KEYS]
        self.keks = keks

    async def open(self, payload: Contract, item: str) -> Contract:
        """The v1 payload of a sealed command about ``item`` (a hold id); TextUnreadable if erased."""
        box = sealed_box(payload)
        stored = await self.collection.find_one({"_id": box.key_id})
        if stored is None:
            if await self.collection.find_one({"item": item, "erased_at": {"$exists": True}}) is not None:
                raise TextUnreadable(f"the text of {item} was erased")
            data_key = unwrap(box, self.keks)
            try:
                await self.collection.insert_one({"_id": box.key_id, "item": item,
                                                  "key": base64.b64encode(data_key).decode(), "at": _now()})
            except DuplicateKeyError:  # another delivery stored it first
                stored = await self.collection.find_one({"_id": box.key_id})
        if stored is not None:
            if "key" not in stored:
                raise TextUnreadable(f"the text of {item} was erased")
            data_key = base64.b64decode(stored["key"])
        return open_sealed(payload, data_key)

    async def erase(self, item: str) -> int:
        """Delete the data keys of every command about ``item``; the marker refuses later copies."""
        result = await self.collection.update_many({"item": item, "key": {"$exists": True}},
                                                   {"$unset": {"key": ""}, "$set": {"erased_at": _now()}})
        await self.collection.update_one({"_id": f"erased:{item}"},
                                         {"$setOnInsert": {"item": item, "erased_at": _now()}}, upsert=True)
        return int(result.modified_count)


def _now() -> datetime:
    return datetime.now(UTC)
