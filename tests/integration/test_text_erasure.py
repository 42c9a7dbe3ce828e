"""Issue 13, erasing held text from Kafka (crypto-shredding), on the real broker and database.

Producers seal people's text in commands with a data key of its own, wrapped to the tracker's
key; the tracker keeps the data key in ``text_keys``. Erasing held text deletes those keys: the
command copies on ``upr.tracker.commands`` and in the dead-letter topic can no longer be read."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Role,
    SafeguardingReviewRequestedV1,
    parse_event,
)
from contracts.sealed_text import TextUnreadable, open_sealed, sealed_box
from contracts.topics import TRACKER_GROUP, Topics
from services.ingest.adapters.publisher import KafkaImportPublisher
from services.ingest.settings import IngestSettings
from services.tracker.adapters.text_keys import TextKeys, text_keks
from services.tracker.app import build_app
from services.tracker.domain.safeguarding import ERASED_TEXT, HELD_TEXT
from tests.integration.helpers import produced_by, read_topic, send, wait_for
from tests.integration.test_tracker_records import CHILD_LAW, processed, rec, tracker_settings

pytestmark = pytest.mark.integration

CSO = Actor(username="sophea", role=Role.CSO_MEMBER, organisation="Child Rights Coalition Cambodia")
VIEWER = Actor(username="guest", role=Role.VIEWER, organisation=None)
CNCC = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
REC = "KHM-4-110.23"
HELD_QUOTE = "សុខា អាយុ ១២ ឆ្នាំ នៅភូមិត្រពាំងវែង"  # names a child: held
TITLE = "របាយការណ៍ការចុះបញ្ជីកំណើតឆ្នាំ ២០២៥"  # harmless Khmer: shown
OTHER_QUOTE = "ក្រសួងបានចុះបញ្ជីកំណើតកុមារ ៩៥ ភាគរយ"


def evidence(evidence_id: str, quote: str) -> EvidenceSubmittedV1:
    return EvidenceSubmittedV1(evidence_id=evidence_id, recommendation_ids=[REC],
                               source_type=EvidenceSourceType.STATISTICS, title=TITLE, quote=quote, language="km")


def _contains(raw: bytes, text: str) -> bool:
    return text.encode() in raw or json.dumps(text).encode() in raw


async def test_erased_text_is_unreadable_in_the_command_topic_and_the_dead_letter_topic(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    settings = tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics)
    async with build_app(settings):
        async def run(payload: Any, actor: Actor, component: str = "ui") -> Any:
            event = produced_by(component, payload, actor=actor)
            await send(producer, topics.tracker_commands, event, key=REC.encode())
            return await processed(mongo_db, event)

        imported = produced_by("ingest", rec(REC, CHILD_LAW))
        await send(producer, topics.recommendations_imported, imported)
        await processed(mongo_db, imported)
        await run(evidence("ev-held-0001", HELD_QUOTE), CSO)
        await run(evidence("ev-kept-0001", OTHER_QUOTE), CSO, component="ingest")
        # The same held text sent again by someone who may not submit evidence: dead-lettered.
        refused = await run(evidence("ev-held-0001", HELD_QUOTE), VIEWER)
        assert refused["outcome"] == "rejected"

        # Before the erasure: sealed text arrived intact (Khmer included) where it belongs.
        kept = await mongo_db.evidence.find_one({"_id": "ev-kept-0001"})
        assert (kept["title"], kept["quote"]) == (TITLE, OTHER_QUOTE)
        held = await mongo_db.evidence.find_one({"_id": "ev-held-0001"})
        assert held["title"] == TITLE and held["quote"] == HELD_TEXT
        hold = await mongo_db.safeguarding_holds.find_one({"_id": "evidence:ev-held-0001"})
        assert hold["original"]["quote"] == HELD_QUOTE
        keys = {"item": "evidence:ev-held-0001", "key": {"$exists": True}}
        assert await mongo_db.text_keys.count_documents(keys) == 2

        erase = await run(SafeguardingReviewRequestedV1(hold_id="evidence:ev-held-0001", decision="erase"), CNCC)
        assert erase["outcome"] == "updated", erase
        assert (await mongo_db.evidence.find_one({"_id": "ev-held-0001"}))["quote"] == ERASED_TEXT

    commands = await read_topic(kafka_bootstrap, topics.tracker_commands, expected=4)
    dead = await read_topic(kafka_bootstrap, topics.dead_letter(TRACKER_GROUP), expected=1)
    about_held = [r for r in commands + dead
                  if b'"evidence_id":"ev-held-0001"' in r.value and b"evidence.submitted" in r.value]
    assert len(about_held) == 3  # two on the command topic, one dead-lettered copy
    store = TextKeys(mongo_db, text_keks(settings))
    remaining = [k async for k in mongo_db.text_keys.find({"key": {"$exists": True}})]
    assert [k["item"] for k in remaining] == ["evidence:ev-kept-0001"]
    for record in about_held:
        envelope, payload = parse_event(record.value)
        assert envelope.version == 2
        for text in (HELD_QUOTE, TITLE, "សុខា"):
            assert not _contains(record.value, text)
        # The tracker itself refuses to unwrap it again, and no data key it still holds opens it.
        with pytest.raises(TextUnreadable, match="erased"):
            await store.open(payload, "evidence:ev-held-0001")
        assert await mongo_db.text_keys.find_one({"_id": sealed_box(payload).key_id, "key": {"$exists": True}}) \
            is None
        for key in remaining:
            with pytest.raises(TextUnreadable):
                open_sealed(payload, base64.b64decode(key["key"]))
    # What was not erased still opens (the same store, the same topic).
    kept_record = next(r for r in commands if b"ev-kept-0001" in r.value)
    _, kept_payload = parse_event(kept_record.value)
    opened = await store.open(kept_payload, "evidence:ev-kept-0001")
    assert opened == evidence("ev-kept-0001", OTHER_QUOTE)


async def test_a_command_held_back_until_its_recommendation_arrives_is_still_opened(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    """A parked command is stored sealed (no plain text in parked_messages) and opened when applied."""
    async with build_app(tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics)):
        event = produced_by("ui", evidence("ev-park-0001", OTHER_QUOTE), actor=CSO)
        await send(producer, topics.tracker_commands, event, key=REC.encode())
        parked = await wait_for(lambda: mongo_db.parked_messages.find_one({"_id": str(event.event_id)}),
                                what="command parked")
        assert OTHER_QUOTE not in str(parked)
        imported = produced_by("ingest", rec(REC, CHILD_LAW))
        await send(producer, topics.recommendations_imported, imported)
        await processed(mongo_db, event)
    assert (await mongo_db.evidence.find_one({"_id": "ev-park-0001"}))["quote"] == OTHER_QUOTE


async def test_the_ingest_sends_template_evidence_sealed_and_signed_with_its_own_key(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    """The ingest's real publisher (bulk evidence template): v2 on the topic, Khmer intact in the record."""
    async with build_app(tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics)):
        imported = produced_by("ingest", rec(REC, CHILD_LAW))
        await send(producer, topics.recommendations_imported, imported)
        await processed(mongo_db, imported)
        settings = IngestSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topics.prefix, env="dev")
        async with KafkaImportPublisher(settings) as publisher:
            rows = await publisher.publish([(2, evidence("ev-tmpl-0001", OTHER_QUOTE))], import_id="imp-ev",
                                           actor=CNCC)
        await wait_for(lambda: mongo_db.evidence.find_one({"_id": "ev-tmpl-0001"}), what="evidence stored")
    (record,) = [r for r in await read_topic(kafka_bootstrap, topics.tracker_commands, expected=1)
                 if str(parse_event(r.value)[0].event_id) in rows]
    envelope, _ = parse_event(record.value)
    assert envelope.version == 2 and (envelope.signature or "").startswith("ed25519:ingest:")
    assert not _contains(record.value, OTHER_QUOTE) and not _contains(record.value, TITLE)
    stored = await mongo_db.evidence.find_one({"_id": "ev-tmpl-0001"})
    assert (stored["title"], stored["quote"]) == (TITLE, OTHER_QUOTE)
