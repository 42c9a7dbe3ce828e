"""Commands carry proof (issue 13 row 2): what the signature covers, and that it survives Kafka."""

from __future__ import annotations

import json

import pytest

from contracts.events import (
    Actor,
    EventEnvelope,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Role,
    make_event,
    parse_event,
)
from contracts.signing import BadSignature, sign, verify

KEY = "k" * 32
CSO = Actor(username="dara", role=Role.CSO_MEMBER, organisation="Child Rights Coalition Cambodia")


def command() -> EventEnvelope:
    return make_event(EvidenceSubmittedV1(evidence_id="ev-000001", recommendation_ids=["KHM-4-110.23"],
                                          source_type=EvidenceSourceType.STATISTICS,
                                          title="ការចុះបញ្ជីកំណើត ២០២៥"), source="ui", actor=CSO)


def test_signed_command_verifies_after_the_round_trip_through_bytes() -> None:
    signed = sign(command(), KEY)
    received, _ = parse_event(signed.to_bytes())
    verify(received, KEY)
    assert received.payload["title"] == "ការចុះបញ្ជីកំណើត ២០២៥"


@pytest.mark.parametrize("change", [
    lambda d: d["actor"].update(role="admin"),
    lambda d: d["actor"].update(username="admin"),
    lambda d: d.update(type="evidence.review_requested"),
    lambda d: d["payload"].update(title="changed"),
    lambda d: d.update(event_id="00000000-0000-4000-8000-000000000001"),  # a replay under a new id
])
def test_a_changed_actor_role_type_payload_or_id_breaks_the_signature(change: object) -> None:
    data = json.loads(sign(command(), KEY).to_bytes())
    change(data)  # type: ignore[operator]
    received = EventEnvelope.model_validate(data)
    with pytest.raises(BadSignature, match="wrong signature"):
        verify(received, KEY)


def test_unsigned_or_other_key_is_refused_and_unsigned_envelopes_keep_their_old_json() -> None:
    event = command()
    assert b"signature" not in event.to_bytes()
    with pytest.raises(BadSignature, match=r"unsigned evidence\.submitted"):
        verify(event, KEY)
    with pytest.raises(BadSignature, match="wrong signature"):
        verify(sign(event, "another-key"), KEY)
