"""Webhook signing secrets encrypted at rest (cryptography's Fernet / MultiFernet).

A subscription stores ``secret_enc`` (a Fernet token), never the secret itself: a copy of
the database, a backup or a read-only MongoDB user does not let anyone sign as UPR
Tracker. The key comes from ``UPR_NOTIFIER_SECRETS_KEY``: one or more Fernet keys,
comma-separated, the first encrypting (rotation: put the new key first, keep the old one
until every secret has been re-encrypted). In dev mode without a key, one is derived from
``UPR_NOTIFIER_SECRET``; production requires the setting (contracts.settings.require_secret).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(ValueError):
    """A stored secret that no configured key opens (the key was changed without rotation)."""


def derived_key(secret: str) -> str:
    """A Fernet key derived from another secret (dev mode only)."""
    digest = hashlib.sha256(b"upr-notifier-webhook-secrets\0" + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("UPR_NOTIFIER_SECRETS_KEY holds no key")
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])
        except (ValueError, UnicodeEncodeError):
            raise ValueError("UPR_NOTIFIER_SECRETS_KEY must be Fernet keys (Fernet.generate_key()), "
                             "comma-separated") from None
        # Each alert is signed with its subscription's secret: decrypting it (Fernet: HMAC check
        # and AES) for every alert cost ~0.8 ms of CPU per alert under a profile of the webhook
        # bench; a token once opened is remembered.
        self._open = functools.lru_cache(maxsize=4096)(self._decrypt)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        return self._open(sealed)

    def _decrypt(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable("the webhook secret cannot be decrypted with UPR_NOTIFIER_SECRETS_KEY") from None

    def secret_of(self, subscription: Mapping[str, Any]) -> str:
        """The signing secret of a stored subscription (one stored before encryption: as is)."""
        sealed = subscription.get("secret_enc")
        if isinstance(sealed, str) and sealed:
            return self.open(sealed)
        return str(subscription.get("secret") or "")
