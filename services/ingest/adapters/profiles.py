"""Mapping profiles in MongoDB: the ingest's own collection ``mapping_profiles``
(``_id`` = the profile's name). Written only through the ingest's HTTP API (the Import page)
and read by it and by ``upr import --profile``; no other service touches it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient

from contracts.events import Actor
from services.ingest.domain.profiles import header_signature

MAPPING_PROFILES = "mapping_profiles"


class MappingProfiles:
    def __init__(self, uri: str, db_name: str) -> None:
        self._client: MongoClient[dict[str, Any]] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self._profiles = self._client[db_name][MAPPING_PROFILES]
        self._indexed = False

    def _index(self) -> None:
        if not self._indexed:  # the profile a header reuses: an indexed lookup
            self._profiles.create_index([("header_signature", ASCENDING)])
            self._indexed = True

    def close(self) -> None:
        self._client.close()

    def get(self, name: str) -> dict[str, Any] | None:
        return self._profiles.find_one({"_id": name.strip()})

    def for_header(self, columns: list[str]) -> dict[str, Any] | None:
        """The profile last saved for this header, if any."""
        self._index()
        return self._profiles.find_one({"header_signature": header_signature(columns)},
                                       sort=[("saved_at", DESCENDING)])

    def all(self) -> list[dict[str, Any]]:
        return sorted(self._profiles.find({}), key=lambda p: str(p["_id"]).casefold())

    def save(self, name: str, mapping: dict[str, str], columns: list[str], country: str | None,
             actor: Actor) -> dict[str, Any]:
        """Create or replace the profile ``name`` (checked by ``domain.profiles.check_profile``)."""
        self._index()
        doc = {"name": name, "mapping": dict(mapping), "columns": list(columns), "country": country,
               "header_signature": header_signature(columns), "saved_by": actor.model_dump(mode="json"),
               "saved_at": datetime.now(UTC)}
        self._profiles.replace_one({"_id": name}, doc, upsert=True)
        return {"_id": name, **doc}


def public(profile: dict[str, Any]) -> dict[str, Any]:
    """A profile as the API shows it."""
    return {"name": profile["_id"], "mapping": profile.get("mapping", {}), "columns": profile.get("columns", []),
            "country": profile.get("country"), "saved_by": (profile.get("saved_by") or {}).get("username"),
            "saved_at": profile["saved_at"].isoformat() if profile.get("saved_at") else None}
