"""API keys for partner systems: what a key looks like and how it is kept.

A key is ``upr_<key id>_<secret>``. The key id is public (it names the key in lists and in
the audit log); the secret is 256 random bits, shown once to the admin who creates the key
and stored only as its SHA-256 (a salt or a slow hash adds nothing for a random secret of
that length, and every read API request checks one). The UI makes the key and sends only the
id and the hash in its ``api_key.issued`` command, so the secret never travels on Kafka.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.events import Actor, Role

PREFIX = "upr"
KEY_ID = r"^[a-f0-9]{12}$"
_KEY = re.compile(r"^upr_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$")
COLLECTION = "api_keys"  # kept by the tracker (``_id`` = key id)


class BadApiKey(ValueError):
    """A credential that is not an API key this system could have made."""


@dataclass(frozen=True)
class NewApiKey:
    key: str  # show once, never store
    key_id: str
    secret_hash: str


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)  # 43 characters
    return NewApiKey(f"{PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_api_key(key: str) -> tuple[str, str]:
    """(key id, secret) of a key; :class:`BadApiKey` when it cannot be one."""
    found = _KEY.match(key.strip())
    if found is None:
        raise BadApiKey("not an API key of this system (expected upr_<id>_<secret>)")
    return found.group(1), found.group(2)


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


class ApiKeyDoc(BaseModel):
    """One key in ``api_keys``; what the Admin page lists (never the secret)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    key_id: str
    name: str
    role: Role
    secret_hash: str
    created_by: Actor
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: Actor | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
