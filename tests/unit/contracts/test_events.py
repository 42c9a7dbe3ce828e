"""The envelope and payload contracts: what a consumer accepts and how it refuses the rest."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import (
    MAX_MESSAGE_BYTES,
    PAYLOADS,
    ContractError,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Position,
    RecommendationImportedV1,
    SourceRef,
    UnknownEventVersion,
    deterministic_event_id,
    make_event,
    parse_event,
)


def payload(**changes: object) -> RecommendationImportedV1:
    fields: dict[str, object] = dict(
        recommendation_id="KHM-4-110.23", country="KHM", cycle=4, text="Adopt the Child Protection Law",
        position=Position.SUPPORTED, source=SourceRef(format="t", file_name="f.csv", row=2), import_id="i",
    )
    fields.update(changes)
    return RecommendationImportedV1(**fields)  # type: ignore[arg-type]


def test_an_event_survives_the_round_trip_with_khmer_text() -> None:
    event = make_event(payload(text_km="អនុម័តច្បាប់ស្តីពីការការពារកុមារ"), source="ingest")
    envelope, parsed = parse_event(event.to_bytes())
    assert envelope.type == "recommendation.imported" and envelope.version == 1
    assert isinstance(parsed, RecommendationImportedV1)
    assert parsed.text_km == "អនុម័តច្បាប់ស្តីពីការការពារកុមារ"
    assert envelope.occurred_at.utcoffset() is not None


def test_an_unknown_version_is_refused_with_the_known_ones_named() -> None:
    raw = json.loads(make_event(payload(), source="ingest").to_bytes())
    raw["version"] = 7
    with pytest.raises(UnknownEventVersion, match=r"version 7 \(known versions: \[1, 2\]\)"):
        parse_event(json.dumps(raw))


def test_an_unknown_type_is_refused() -> None:
    raw = json.loads(make_event(payload(), source="ingest").to_bytes())
    raw["type"] = "recommendation.deleted"
    with pytest.raises(UnknownEventVersion, match="unknown event type"):
        parse_event(json.dumps(raw))


def test_the_error_names_the_field_that_is_wrong() -> None:
    raw = json.loads(make_event(payload(), source="ingest").to_bytes())
    raw["payload"]["position"] = "Maybe"
    with pytest.raises(ContractError, match=r"payload: position"):
        parse_event(json.dumps(raw))


@pytest.mark.parametrize("key", ["$where", "a.b", "$set"])
def test_keys_mongodb_would_read_as_operators_are_refused(key: str) -> None:
    raw = json.loads(make_event(payload(), source="ingest").to_bytes())
    raw["payload"][key] = 1
    with pytest.raises(ContractError, match="may not start with"):
        parse_event(json.dumps(raw))


def test_a_timestamp_without_timezone_is_refused() -> None:
    raw = json.loads(make_event(payload(), source="ingest").to_bytes())
    raw["occurred_at"] = datetime(2026, 1, 1).isoformat()
    with pytest.raises(ContractError, match="timezone"):
        parse_event(json.dumps(raw))


def test_an_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(ContractError, match="exceeds"):
        parse_event(b"{" + b" " * MAX_MESSAGE_BYTES + b"}")


def test_an_oversized_quote_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="quote"):
        EvidenceSubmittedV1(evidence_id="ev-000001", recommendation_ids=["KHM-4-1.1"],
                            source_type=EvidenceSourceType.MEDIA, title="t", quote="x" * 5001)


def test_control_characters_are_removed_from_text_but_lines_kept() -> None:
    assert payload(text="Adopt\x00 the law\nnow\x07").text == "Adopt the law\nnow"


def test_blank_text_is_refused() -> None:
    with pytest.raises(ValueError, match="text"):
        payload(text="   ")


def test_events_caused_by_one_message_get_the_same_ids_every_time() -> None:
    cause = uuid.uuid4()
    assert deterministic_event_id(cause, 0) == deterministic_event_id(cause, 0)
    assert deterministic_event_id(cause, 0) != deterministic_event_id(cause, 1)


def test_every_registered_payload_has_a_version_from_one() -> None:
    assert all(version >= 1 for (_, version) in PAYLOADS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_either_parse_or_raise_a_contract_error(raw: bytes) -> None:
    try:
        parse_event(raw)
    except ContractError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["event_id", "type", "version", "occurred_at", "source", "payload",
                                        "correlation_id", "actor", "extra"]), json_values, max_size=9))
def test_any_envelope_shaped_object_either_parses_or_raises_a_contract_error(obj: dict[str, object]) -> None:
    try:
        parse_event(obj)
    except ContractError:
        pass
