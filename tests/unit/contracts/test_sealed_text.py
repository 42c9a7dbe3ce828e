"""Issue 13, erasing held text from Kafka: people's text in commands is sealed with a data key of
its own, wrapped to the tracker's key; only that data key opens it (Khmer included)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    CycleDeadlineSetV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    EvidenceSubmittedV2,
    ImplementationStatus,
    Role,
    make_event,
    parse_event,
)
from contracts.sealed_text import (
    TextPublicKey,
    TextUnreadable,
    dev_text_private_key,
    open_sealed,
    seal,
    sealed_box,
    unwrap,
)
from contracts.signing import dev_signer

KEK = dev_text_private_key()
PUBLIC = TextPublicKey("dev", KEK.public_key())
QUOTE = "សុខា អាយុ ១២ ឆ្នាំ នៅភូមិក្រាំង"
CSO = Actor(username="dara", role=Role.CSO_MEMBER, organisation="CRC Cambodia")


def evidence() -> EvidenceSubmittedV1:
    return EvidenceSubmittedV1(evidence_id="ev-000001", recommendation_ids=["KHM-4-110.23"],
                               source_type=EvidenceSourceType.STATISTICS, title="ការចុះបញ្ជីកំណើត ២០២៥",
                               quote=QUOTE, document_reference="ref 12", url="https://example.org/sokha-12",
                               language="km")


def test_sealed_evidence_carries_no_text_and_opens_to_the_same_khmer() -> None:
    envelope = dev_signer("ui").sign(make_event(seal(evidence(), PUBLIC), source="ui", actor=CSO))
    raw = envelope.to_bytes()
    assert (envelope.type, envelope.version) == ("evidence.submitted", 2)
    for text in (QUOTE, "ការចុះបញ្ជីកំណើត", "sokha-12", "ref 12"):
        assert text.encode() not in raw and json.dumps(text).encode() not in raw
    _, payload = parse_event(raw)
    assert isinstance(payload, EvidenceSubmittedV2)
    opened = open_sealed(payload, unwrap(sealed_box(payload), {"dev": KEK}))
    assert opened == evidence()


def test_without_the_data_key_nothing_opens() -> None:
    sealed = seal(evidence(), PUBLIC)
    box = sealed_box(sealed)
    with pytest.raises(TextUnreadable, match="does not hold"):
        unwrap(box, {"other": KEK})
    with pytest.raises(TextUnreadable, match="does not decrypt"):
        open_sealed(sealed, b"\0" * 32)
    with pytest.raises(TextUnreadable, match="does not unwrap"):  # another tracker's key under the same id
        unwrap(box, {"dev": X25519PrivateKey.generate()})


def test_contracts_without_peoples_text_are_not_sealed_and_v1_still_parses() -> None:
    assessment = AssessmentSubmittedV1(assessment_id="as-000001", recommendation_id="KHM-4-110.23",
                                       assessor=Assessor.CSO, status=ImplementationStatus.IN_PROGRESS,
                                       rationale="បានអនុវត្តខ្លះ")
    assert type(seal(assessment, PUBLIC)).__name__ == "AssessmentSubmittedV2"
    plain = make_event(evidence(), source="ui", actor=CSO)
    assert parse_event(plain.to_bytes())[1] == evidence()  # v1, plain text: still accepted
    deadline = CycleDeadlineSetV1(country="KHM", cycle=4, milestone="mid_term_report_due", due_on=date(2027, 4, 30))
    assert seal(deadline, PUBLIC) is deadline
