"""Commands carry proof: an HMAC-SHA256 over who sent them and what they say.

Kafka itself does not tell a consumer who produced a message, so the ``actor`` (and its role)
inside a command would otherwise be whatever the producer wrote. The UI, the CLI and the
ingest sign every command (and every imported recommendation) with ``UPR_COMMAND_KEY``; the
tracker and the notifier verify it before anything else and dead-letter a message that is
unsigned or signed wrongly, with the reason.

The signed material is canonical JSON (sorted keys, no whitespace, UTF-8) of the event id,
type, version, source, actor (user name, role, organisation) and payload, so changing any of
them, or replaying the command under a new id, breaks the signature. Both sides are Python and
the payload is JSON already (what the producer serialised is what the consumer parsed), so the
standard library's sorted dump is the same bytes on both; it is ~3x faster than an RFC 8785
implementation, which counts on imports of 50,000 rows. One implementation for producers and
consumers, here in contracts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from contracts.events import ContractError, EventEnvelope

SCHEME = "hmac-sha256"


class BadSignature(ContractError):
    """An unsigned or wrongly signed command: it goes to the dead-letter topic, changes nothing."""


def signed_material(envelope: EventEnvelope) -> bytes:
    """What the signature covers, as canonical JSON bytes (the same on both sides of Kafka)."""
    material: dict[str, Any] = {
        "event_id": str(envelope.event_id),
        "type": envelope.type,
        "version": envelope.version,
        "source": envelope.source,
        "actor": envelope.actor.model_dump(mode="json") if envelope.actor is not None else None,
        "payload": envelope.payload,
    }
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _digest(envelope: EventEnvelope, key: str) -> str:
    return hmac.new(key.encode("utf-8"), signed_material(envelope), hashlib.sha256).hexdigest()


def sign(envelope: EventEnvelope, key: str) -> EventEnvelope:
    """The envelope with its signature (a copy: envelopes are immutable)."""
    return envelope.model_copy(update={"signature": f"{SCHEME}:{_digest(envelope, key)}"})


def verify(envelope: EventEnvelope, key: str) -> None:
    """Raise :class:`BadSignature` (a ContractError: dead-lettered) unless ``key`` signed it."""
    if not envelope.signature:
        raise BadSignature(f"unsigned {envelope.type} command: every command must be signed "
                           "with UPR_COMMAND_KEY by the UI, the CLI or the ingest")
    scheme, _, digest = envelope.signature.partition(":")
    if scheme != SCHEME:
        raise BadSignature(f"{envelope.type}: unknown signature scheme {scheme!r} (expected {SCHEME})")
    try:
        expected = _digest(envelope, key)
    except ValueError as exc:  # NaN or infinity: not JSON
        raise BadSignature(f"{envelope.type}: payload cannot be canonicalised for signing ({exc})") from None
    if not hmac.compare_digest(digest, expected):
        raise BadSignature(f"wrong signature on {envelope.type} from "
                           f"{envelope.actor.username if envelope.actor else 'no actor'}: "
                           "signed with another key, or changed after signing")
