"""Commands carry proof: a signature over who sent them and what they say.

Kafka itself does not tell a consumer who produced a message, so the ``actor`` (and its role)
inside a command would otherwise be whatever the producer wrote. The UI, the CLI and the
ingest sign every command (and every imported recommendation); the tracker and the notifier
verify it before anything else and dead-letter a message that is unsigned, signed wrongly or
sent by a component that may not send it, with the reason.

Each producer signs with its own Ed25519 key (``UPR_COMMAND_SIGNING_KEY``) and the consumers
hold only the public keys (``UPR_COMMAND_PUBLIC_KEYS``); :data:`COMMAND_SENDERS` says which
component may send which command. The shared HMAC key is still accepted where it is configured,
so commands signed before the change (and tests) keep working while they drain.

The signed material is canonical JSON (sorted keys, no whitespace, UTF-8) of the event id,
type, version, source, actor (user name, role, organisation) and payload, so changing any of
them, or replaying the command under a new id, breaks the signature. Both sides are Python and
the payload is JSON already (what the producer serialised is what the consumer parsed), so the
standard library's sorted dump is the same bytes on both; it is ~3x faster than an RFC 8785
implementation, which counts on imports of 50,000 rows. One implementation for producers and
consumers, here in contracts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.events import ContractError, EventEnvelope
from contracts.settings import DEV_COMMAND_KEY, CommonSettings

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
                           "by the UI, the CLI or the ingest with its own key")
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


# --- per-producer keys (Ed25519) ---------------------------------------------------------
#
# One shared HMAC key lets every holder sign any command. Each producing component instead
# signs with its own Ed25519 private key; the tracker and the notifier hold only the public
# keys, so neither they nor a stolen component can sign as another one, and a component may
# only send the command types :data:`COMMAND_SENDERS` gives it.

ED25519 = "ed25519"
COMPONENTS = ("ui", "ingest", "cli", "notifier")

# Who may send what: the one table both consumers check. The ingest imports rows and bulk
# evidence; the CLI (the operator on the host) may do what the UI does but save report drafts;
# the notifier sends no commands at all.
_PEOPLE = frozenset({"ui", "cli"})
COMMAND_SENDERS: dict[str, frozenset[str]] = {
    "recommendation.imported": frozenset({"ingest", "cli"}),
    "evidence.submitted": frozenset({"ui", "ingest", "cli"}),
    "evidence.review_requested": _PEOPLE,
    "assessment.submitted": _PEOPLE,
    "themes.correction_requested": _PEOPLE,
    "cycle.deadline_set": _PEOPLE,
    "cycle.publication_set": _PEOPLE,
    "report.draft_saved": frozenset({"ui"}),
    "safeguarding.review_requested": _PEOPLE,
    "subscription.requested": _PEOPLE,
    "subscription.cancelled": _PEOPLE,
    "api_key.issued": _PEOPLE,
    "api_key.revoked": _PEOPLE,
    "import.match_decided": _PEOPLE,
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """A component and its private key: what a producer signs commands with."""

    component: str
    key: Ed25519PrivateKey

    def sign(self, envelope: EventEnvelope) -> EventEnvelope:
        signature = _b64(self.key.sign(signed_material(envelope)))
        return envelope.model_copy(update={"signature": f"{ED25519}:{self.component}:{signature}"})

    def public(self) -> str:
        """``component:base64`` of the public key, as ``UPR_COMMAND_PUBLIC_KEYS`` lists it."""
        return f"{self.component}:{_b64(self.key.public_key().public_bytes_raw())}"

    def private(self) -> str:
        """``component:base64`` of the private key, as ``UPR_COMMAND_SIGNING_KEY`` holds it."""
        return f"{self.component}:{_b64(self.key.private_bytes_raw())}"


def dev_signer(component: str) -> Signer:
    """The well-known key of a component in dev mode (and tests): derived from its name."""
    seed = hashlib.sha256(f"upr-dev-command-key:{component}".encode()).digest()
    return Signer(component, Ed25519PrivateKey.from_private_bytes(seed))


def parse_signer(value: str) -> Signer:
    """``component:base64`` (as ``upr keys new`` prints it) -> a Signer; ValueError naming the problem."""
    component, _, encoded = value.strip().partition(":")
    if component not in COMPONENTS or not encoded:
        raise ValueError(f"a signing key is 'component:base64' with component one of {', '.join(COMPONENTS)}")
    try:
        return Signer(component, Ed25519PrivateKey.from_private_bytes(_unb64(encoded)))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"the {component} signing key is not a base64 Ed25519 private key ({exc})") from None


def parse_public_keys(value: str) -> dict[str, Ed25519PublicKey]:
    """``ui:base64,ingest:base64,...`` -> public key by component; ValueError naming the bad entry."""
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in filter(None, (e.strip() for e in value.split(","))):
        component, _, encoded = entry.partition(":")
        if component not in COMPONENTS or not encoded:
            raise ValueError(f"public key entry {entry[:20]!r}: expected component:base64, "
                             f"component one of {', '.join(COMPONENTS)}")
        try:
            keys[component] = Ed25519PublicKey.from_public_bytes(_unb64(encoded))
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"the public key of {component} is not a base64 Ed25519 key ({exc})") from None
    return keys


@dataclass(frozen=True)
class CommandKeys:
    """What a consumer verifies commands with: each producer's public key and, while commands
    signed before per-producer keys drain, the old shared HMAC key (``None``: refused)."""

    public: Mapping[str, Ed25519PublicKey]
    legacy_hmac: str | None = None

    def verify(self, envelope: EventEnvelope) -> str:
        """The component that signed ``envelope`` (``"legacy"`` for the shared HMAC key);
        :class:`BadSignature` (dead-lettered) unless it verifies and that component may send it."""
        scheme = (envelope.signature or "").partition(":")[0]
        if scheme != ED25519:
            if envelope.signature and scheme == SCHEME and self.legacy_hmac is None:
                raise BadSignature(f"{envelope.type}: signed with the retired shared key (UPR_COMMAND_KEY); "
                                   "commands must be signed with their producer's own key")
            verify(envelope, self.legacy_hmac or "")
            return "legacy"
        parts = (envelope.signature or "").split(":", 2)
        component, encoded = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        public = self.public.get(component)
        if public is None:
            raise BadSignature(f"{envelope.type} signed by unknown component {component!r}")
        try:
            public.verify(_unb64(encoded), signed_material(envelope))
        except (InvalidSignature, ValueError, binascii.Error):
            raise BadSignature(f"wrong signature on {envelope.type} from "
                               f"{envelope.actor.username if envelope.actor else 'no actor'}: not signed with "
                               f"the {component} key, or changed after signing") from None
        allowed = COMMAND_SENDERS.get(envelope.type, frozenset())
        if component not in allowed:
            raise BadSignature(f"{envelope.type} signed by {component}, which may not send it (only "
                               f"{', '.join(sorted(allowed)) or 'nobody'}); it says it comes from {envelope.source}")
        return component


def command_signer(settings: CommonSettings) -> Signer:
    """What this process signs commands with: ``UPR_COMMAND_SIGNING_KEY``, or in dev mode (when
    unset) the dev key of its component. ValueError outside dev mode without a valid key."""
    if settings.command_signing_key:
        return parse_signer(settings.command_signing_key)
    if settings.dev_mode:
        return dev_signer(settings.COMMAND_SIGNER)
    raise ValueError(f"UPR_COMMAND_SIGNING_KEY must hold this component's own key ({settings.COMMAND_SIGNER}:base64, "
                     "from `upr keys new`), or set UPR_ENV=dev for a local, non-production run")


def command_keys(settings: CommonSettings) -> CommandKeys:
    """What a consumer verifies with: ``UPR_COMMAND_PUBLIC_KEYS`` (dev mode, when unset: every
    component's dev key) and the old shared ``UPR_COMMAND_KEY`` when set (always in dev mode)."""
    if settings.command_public_keys:
        public = parse_public_keys(settings.command_public_keys)
    elif settings.dev_mode:
        public = {c: dev_signer(c).key.public_key() for c in COMPONENTS}
    else:
        raise ValueError("UPR_COMMAND_PUBLIC_KEYS must list the producers' public keys (ui:base64,ingest:base64,"
                         "cli:base64, from `upr keys new`), or set UPR_ENV=dev for a local, non-production run")
    legacy = settings.command_key if settings.dev_mode or settings.command_key != DEV_COMMAND_KEY else None
    return CommandKeys(public, legacy or None)
