"""Issue 13, per-producer keys: each component signs with its own Ed25519 key, the consumers hold
only public keys, and a component may send only the commands COMMAND_SENDERS gives it."""

from __future__ import annotations

import pytest

from contracts.events import (
    Actor,
    EventEnvelope,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Role,
    SafeguardingReviewRequestedV1,
    make_event,
    parse_event,
)
from contracts.settings import CommonSettings
from contracts.signing import BadSignature, CommandKeys, command_keys, dev_signer, sign

REVIEWER = Actor(username="rith", role=Role.REVIEWER, organisation="CNCC")
KEYS = CommandKeys({c: dev_signer(c).key.public_key() for c in ("ui", "ingest", "cli", "notifier")})


def evidence(source: str = "ui") -> EventEnvelope:
    return make_event(EvidenceSubmittedV1(evidence_id="ev-000001", recommendation_ids=["KHM-4-110.23"],
                                          source_type=EvidenceSourceType.STATISTICS, title="ការចុះបញ្ជីកំណើត"),
                      source=source, actor=REVIEWER)


def test_a_command_signed_with_the_notifiers_key_claiming_to_come_from_the_ui_is_refused() -> None:
    forged = dev_signer("notifier").sign(evidence(source="ui"))
    with pytest.raises(BadSignature, match=r"signed by notifier, which may not send it .*comes from ui"):
        KEYS.verify(forged)


def test_the_ingest_may_submit_evidence_but_not_erase_held_text() -> None:
    assert KEYS.verify(dev_signer("ingest").sign(evidence(source="ingest"))) == "ingest"
    erase = make_event(SafeguardingReviewRequestedV1(hold_id="evidence:ev-000001", decision="erase"),
                       source="ui", actor=REVIEWER)
    with pytest.raises(BadSignature, match=r"safeguarding\.review_requested signed by ingest"):
        KEYS.verify(dev_signer("ingest").sign(erase))
    assert KEYS.verify(dev_signer("ui").sign(erase)) == "ui"


def test_naming_another_component_in_the_signature_does_not_borrow_its_key() -> None:
    signed = dev_signer("notifier").sign(evidence())
    relabelled = signed.model_copy(update={"signature": signed.signature.replace(":notifier:", ":ui:")})  # type: ignore[union-attr]
    with pytest.raises(BadSignature, match="not signed with the ui key"):
        KEYS.verify(relabelled)


def test_a_signed_command_survives_the_round_trip_through_bytes_and_a_change_breaks_it() -> None:
    signed = dev_signer("ui").sign(evidence())
    received, _ = parse_event(signed.to_bytes())
    assert KEYS.verify(received) == "ui"
    changed = received.model_copy(update={"actor": REVIEWER.model_copy(update={"role": Role.ADMIN})})
    with pytest.raises(BadSignature, match="wrong signature"):
        KEYS.verify(changed)


def test_the_old_shared_key_is_refused_unless_the_consumer_still_accepts_it() -> None:
    old = sign(evidence(), "k" * 32)
    with pytest.raises(BadSignature, match="retired shared key"):
        KEYS.verify(old)
    assert CommandKeys(KEYS.public, legacy_hmac="k" * 32).verify(old) == "legacy"
    production = CommonSettings(env="production", command_public_keys=dev_signer("ui").public())
    assert command_keys(production).legacy_hmac is None  # the placeholder is never a production key
    assert set(command_keys(production).public) == {"ui"}
