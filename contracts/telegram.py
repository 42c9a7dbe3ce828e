"""Linking a Telegram chat to a subscription: the one-time ``/start`` token and its deep link.

The UI makes the token, shows the deep link once and sends only the token's hash in the
``subscription.requested`` (v3) command; the notifier's bot matches ``/start <token>`` against
that hash, once. Telegram allows 1-64 characters ``A-Za-z0-9_-`` after ``?start=``.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_link_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def link_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, token: str, *, group: bool = False) -> str:
    """The link that opens the bot and sends ``/start <token>`` (``startgroup``: pick a group)."""
    return f"https://t.me/{bot_username}?{'startgroup' if group else 'start'}={token}"
