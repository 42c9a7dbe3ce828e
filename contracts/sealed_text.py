"""People's text in commands, sealed so that erasing it erases the Kafka copies too (crypto-shredding).

``upr.tracker.commands`` keeps every command for ever, and the dead-letter topics keep copies:
text a reviewer later erases (a child's name in a quote, a rationale) would stay readable
there. So a producer (UI, ingest, CLI) seals the free text of a command before publishing:

- a fresh random data key per command encrypts the text fields (AES-256-GCM, the key id as
  associated data);
- the data key travels wrapped to the tracker's public key (HPKE: X25519, HKDF-SHA256,
  AES-256-GCM); producers hold only that public key (``UPR_TEXT_PUBLIC_KEY``), so a producer
  cannot unwrap what another one sent;
- the tracker unwraps it with its private key (``UPR_TEXT_KEK``), stores the data key in its
  ``text_keys`` collection under the text's hold id (``evidence:<id>``...), and decrypts;
- erasing held text deletes those data keys and marks the item erased, so the tracker refuses
  to unwrap them again. Once the key-encryption key the copies were wrapped with is retired
  (README "Who is trusted": rotation), nothing anywhere can read them.

A sealed command is a new version of its contract (``evidence.submitted`` v2 ...); v1 with
plain text is still accepted. Opening validates the v1 model, so the tracker checks the text as
before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from contracts.events import (
    AssessmentSubmittedV1,
    AssessmentSubmittedV2,
    Contract,
    ContractError,
    EvidenceReviewRequestedV1,
    EvidenceReviewRequestedV2,
    EvidenceSubmittedV1,
    EvidenceSubmittedV2,
    ReportDraftSavedV1,
    ReportDraftSavedV2,
    SealedText,
    ThemeCorrectionRequestedV1,
    ThemeCorrectionRequestedV2,
)
from contracts.settings import CommonSettings

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
DEV_KEK_ID = "dev"

# v1 contract -> (its sealed version, the fields holding people's text)
SEALED: dict[type[Contract], tuple[type[Contract], tuple[str, ...]]] = {
    EvidenceSubmittedV1: (EvidenceSubmittedV2, ("title", "quote", "document_reference", "url", "organisation")),
    EvidenceReviewRequestedV1: (EvidenceReviewRequestedV2, ("comment",)),
    AssessmentSubmittedV1: (AssessmentSubmittedV2, ("rationale",)),
    ThemeCorrectionRequestedV1: (ThemeCorrectionRequestedV2, ("comment",)),
    ReportDraftSavedV1: (ReportDraftSavedV2, ("text",)),
}
_OPENS_TO = {sealed: (plain, fields) for plain, (sealed, fields) in SEALED.items()}


class TextUnreadable(ContractError):
    """Sealed text that cannot be opened: erased, or wrapped with a key this tracker does not hold."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _info(key_id: str) -> bytes:
    return f"upr-text-key:{key_id}".encode()


@dataclass(frozen=True)
class TextPublicKey:
    """The tracker's key-encryption key as producers know it: an id and the public half."""

    kek_id: str
    key: X25519PublicKey


def dev_text_private_key() -> X25519PrivateKey:
    """The well-known dev key (dev mode and tests only)."""
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(b"upr-dev-text-kek").digest())


def _parse(entry: str, what: str) -> tuple[str, bytes]:
    kek_id, _, encoded = entry.strip().partition(":")
    if not kek_id or not encoded:
        raise ValueError(f"{what} entry {entry[:12]!r}...: expected id:base64 (from `upr keys new`)")
    try:
        return kek_id, _unb64(encoded)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"{what} {kek_id}: not base64 ({exc})") from None


def text_public_key(settings: CommonSettings) -> TextPublicKey:
    """``UPR_TEXT_PUBLIC_KEY`` (dev mode, when unset: the dev key); ValueError otherwise."""
    if settings.text_public_key:
        kek_id, raw = _parse(settings.text_public_key, "UPR_TEXT_PUBLIC_KEY")
        return TextPublicKey(kek_id, X25519PublicKey.from_public_bytes(raw))
    if settings.dev_mode:
        return TextPublicKey(DEV_KEK_ID, dev_text_private_key().public_key())
    raise ValueError("UPR_TEXT_PUBLIC_KEY must hold the tracker's text key (id:base64, from `upr keys new`), "
                     "or set UPR_ENV=dev for a local, non-production run")


def parse_text_keks(value: str) -> dict[str, X25519PrivateKey]:
    """``UPR_TEXT_KEK``: ``id:base64[,id:base64...]``, the first the current one."""
    keys: dict[str, X25519PrivateKey] = {}
    for entry in filter(None, (e.strip() for e in value.split(","))):
        kek_id, raw = _parse(entry, "UPR_TEXT_KEK")
        keys[kek_id] = X25519PrivateKey.from_private_bytes(raw)
    return keys


def seal(payload: Contract, public: TextPublicKey) -> Contract:
    """The sealed version of ``payload``; a contract with no people's text comes back unchanged."""
    if type(payload) not in SEALED:
        return payload
    sealed_model, fields = SEALED[type(payload)]
    data = payload.model_dump(mode="json")
    text = {name: data.pop(name) for name in fields}
    key_id = uuid.uuid4().hex
    data_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    plaintext = json.dumps(text, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    box = SealedText(
        key_id=key_id, kek_id=public.kek_id, wrapped_key=_b64(_SUITE.encrypt(data_key, public.key, _info(key_id))),
        nonce=_b64(nonce), ciphertext=_b64(AESGCM(data_key).encrypt(nonce, plaintext, key_id.encode())),
    )
    return sealed_model.model_validate({**data, "sealed": box})


def is_sealed(payload: Contract) -> bool:
    return type(payload) in _OPENS_TO


def sealed_box(payload: Contract) -> SealedText:
    box = getattr(payload, "sealed", None)
    if not isinstance(box, SealedText):
        raise TypeError(f"{type(payload).__name__} is not sealed")
    return box


def unwrap(box: SealedText, keks: dict[str, X25519PrivateKey]) -> bytes:
    """The data key, unwrapped with the tracker's key ``box.kek_id``."""
    private = keks.get(box.kek_id)
    if private is None:
        raise TextUnreadable(f"sealed text {box.key_id} is wrapped with key {box.kek_id!r}, which this tracker "
                             "does not hold (retired, or another deployment's)")
    try:
        return _SUITE.decrypt(_unb64(box.wrapped_key), private, _info(box.key_id))
    except (InvalidTag, ValueError, binascii.Error):
        raise TextUnreadable(f"sealed text {box.key_id}: its data key does not unwrap with key {box.kek_id!r}") \
            from None


def open_sealed(payload: Contract, data_key: bytes) -> Contract:
    """The v1 payload, its text decrypted with ``data_key`` and validated as v1."""
    plain_model, fields = _OPENS_TO[type(payload)]
    data: dict[str, Any] = payload.model_dump(mode="json")
    box = SealedText.model_validate(data.pop("sealed"))
    try:
        plaintext = AESGCM(data_key).decrypt(_unb64(box.nonce), _unb64(box.ciphertext), box.key_id.encode())
        text = json.loads(plaintext.decode("utf-8"))
    except (InvalidTag, ValueError, binascii.Error):
        raise TextUnreadable(f"sealed text {box.key_id} does not decrypt with its data key") from None
    if not isinstance(text, dict) or set(text) - set(fields):
        raise TextUnreadable(f"sealed text {box.key_id} holds other fields than {', '.join(fields)}")
    return plain_model.model_validate({**data, **text})
