"""Issue 13 row 2: commands carry proof. The tracker and the notifier, on the real broker and
database, believe the actor and role inside a command only when UPR_COMMAND_KEY signed it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    Channel,
    ImplementationStatus,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
    SubscriptionRequestedV1,
    make_event,
)
from contracts.signing import dev_signer, sign
from contracts.topics import NOTIFIER_GROUP, TRACKER_GROUP, Topics
from services.notifier.app import build_app as build_notifier
from services.notifier.settings import NotifierSettings
from tests.integration.helpers import produced_by, read_topic, send, signed_event, wait_for

pytestmark = pytest.mark.integration

ADMIN = Actor(username="admin", role=Role.ADMIN, organisation="CNCC")
REC = "KHM-4-110.23"


def imported() -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=REC, country="KHM", cycle=4, session=46, document_symbol="A/HRC/57/9",
        paragraph="110.23", text="Adopt the Child Protection Law without delay",
        recommending_states=[RecommendingState(code="SWE", name="Sweden")], position=Position.SUPPORTED,
        source=SourceRef(format="test", file_name="test.csv", row=1), import_id="imp-1",
    )


def cncc_status(assessment_id: str) -> AssessmentSubmittedV1:
    return AssessmentSubmittedV1(assessment_id=assessment_id, recommendation_id=REC, assessor=Assessor.CNCC,
                                 status=ImplementationStatus.FULLY_IMPLEMENTED)



async def test_row2_unsigned_admin_command_is_dead_lettered_and_changes_nothing(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, kafka_bootstrap: str
) -> None:
    await send(producer, topics.recommendations_imported, signed_event(imported(), source="ingest"))
    await wait_for(lambda: mongo_db.recommendations.find_one({"_id": REC}), what="recommendation stored")
    # Anyone who can reach Kafka writes "admin" into a command; unsigned, or signed with a guessed key.
    unsigned = make_event(cncc_status("as-unsigned"), source="ui", actor=ADMIN)
    forged = sign(make_event(cncc_status("as-forged"), source="ui", actor=ADMIN), "a-key-the-attacker-guessed")
    unsigned_import = make_event(imported().model_copy(update={"recommendation_id": "KHM-4-999.1",
                                                               "paragraph": "999.1"}), source="ingest")
    for topic, event in ((topics.tracker_commands, unsigned), (topics.tracker_commands, forged),
                         (topics.recommendations_imported, unsigned_import)):
        await send(producer, topic, event.to_bytes(), key=REC.encode())

    dead = await read_topic(kafka_bootstrap, topics.dead_letter(TRACKER_GROUP), expected=3, timeout=60)
    reasons = {bytes(r.value): dict(r.headers)["x-dlq-reason"].decode() for r in dead}
    assert "unsigned assessment.submitted" in reasons[unsigned.to_bytes()]
    assert "wrong signature on assessment.submitted from admin" in reasons[forged.to_bytes()]
    assert "unsigned recommendation.imported" in reasons[unsigned_import.to_bytes()]
    for event in (unsigned, forged):
        receipt = await mongo_db.processed_messages.find_one({"_id": str(event.event_id)})
        assert receipt["outcome"] == "rejected"  # the UI and the CLI see why
    doc = await mongo_db.recommendations.find_one({"_id": REC})
    assert doc.get("cncc_status") is None
    assert await mongo_db.assessments.count_documents({}) == 0
    assert await mongo_db.recommendations.find_one({"_id": "KHM-4-999.1"}) is None

    # The same command signed with the deployment's key is applied.
    signed = signed_event(cncc_status("as-signed"), source="ui", actor=ADMIN)
    await send(producer, topics.tracker_commands, signed, key=REC.encode())
    receipt = await wait_for(lambda: mongo_db.processed_messages.find_one({"_id": str(signed.event_id)}))
    assert receipt["outcome"] != "rejected", receipt
    doc = await mongo_db.recommendations.find_one({"_id": REC})
    assert doc["cncc_status"] == ImplementationStatus.FULLY_IMPLEMENTED.value


async def test_a_command_signed_with_the_notifiers_key_claiming_to_come_from_the_ui_is_dead_lettered(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, kafka_bootstrap: str
) -> None:
    """Per-producer keys: a stolen notifier (or ingest) key signs only what that component may send."""
    await send(producer, topics.recommendations_imported, produced_by("ingest", imported()))
    await wait_for(lambda: mongo_db.recommendations.find_one({"_id": REC}), what="recommendation stored")
    as_ui = dev_signer("notifier").sign(make_event(cncc_status("as-notifier"), source="ui", actor=ADMIN))
    ingest_as_admin = dev_signer("ingest").sign(make_event(cncc_status("as-ingest"), source="ui", actor=ADMIN))
    for event in (as_ui, ingest_as_admin):
        await send(producer, topics.tracker_commands, event, key=REC.encode())

    dead = await read_topic(kafka_bootstrap, topics.dead_letter(TRACKER_GROUP), expected=2, timeout=60)
    reasons = {bytes(r.value): dict(r.headers)["x-dlq-reason"].decode() for r in dead}
    assert "assessment.submitted signed by notifier, which may not send it" in reasons[as_ui.to_bytes()]
    assert "it says it comes from ui" in reasons[as_ui.to_bytes()]
    assert "assessment.submitted signed by ingest, which may not send it" in reasons[ingest_as_admin.to_bytes()]
    for event in (as_ui, ingest_as_admin):
        receipt = await wait_for(lambda e=event: mongo_db.processed_messages.find_one({"_id": str(e.event_id)}))
        assert receipt["outcome"] == "rejected"
    assert await mongo_db.assessments.count_documents({}) == 0

    # The UI's own key, sealed text and all, is accepted.
    by_ui = produced_by("ui", cncc_status("as-by-ui"), actor=ADMIN)
    await send(producer, topics.tracker_commands, by_ui, key=REC.encode())
    receipt = await wait_for(lambda: mongo_db.processed_messages.find_one({"_id": str(by_ui.event_id)}))
    assert receipt["outcome"] != "rejected", receipt


async def test_row2_unsigned_subscription_command_is_dead_lettered_by_the_notifier(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer,
) -> None:
    settings = NotifierSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                                topic_prefix=topics.prefix, scheduler_enabled=False, subscriptions_refresh_s=0)
    request = SubscriptionRequestedV1(subscription_id="sub-forged-01", owner="admin", channel=Channel.WEBHOOK,
                                      webhook_url="https://attacker.example.org/hook", event_kinds=["new_evidence"])
    unsigned = make_event(request, source="cli", actor=ADMIN)
    async with build_notifier(settings):
        await send(producer, topics.notifier_commands, unsigned, key=b"sub-forged-01")
        # The ingest's key may not subscribe anyone (per-producer keys).
        await send(producer, topics.notifier_commands, produced_by("ingest", request, actor=ADMIN),
                   key=b"sub-forged-01")
        dead = await read_topic(kafka_bootstrap, topics.dead_letter(NOTIFIER_GROUP), expected=2, timeout=60)
        receipt = await wait_for(lambda: mongo_db.notifier_processed.find_one({"_id": str(unsigned.event_id)}),
                                 what="rejection recorded")
    assert "unsigned subscription.requested" in dict(dead[0].headers)["x-dlq-reason"].decode()
    assert "subscription.requested signed by ingest" in dict(dead[1].headers)["x-dlq-reason"].decode()
    assert receipt["outcome"] == "rejected"
    assert await mongo_db.notifier_subscriptions.count_documents({}) == 0


async def test_row1_upr_token_signs_the_role_stored_for_the_user_and_refuses_unknown_users(
    mongodb_uri: str, mongo_db: Any,
) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from contracts.auth import verify_token
    from contracts.settings import CommonSettings
    from upr.cli import app as cli

    await mongo_db.users.insert_one({"_id": "sokha", "username": "sokha", "role": "reviewer", "organisation": "CNCC",
                                     "password_hash": "x", "active": True, "created_at": datetime.now(UTC)})
    env = {"UPR_MONGODB_URI": mongodb_uri, "UPR_MONGODB_DB": mongo_db.name, "UPR_ENV": "dev"}
    result = CliRunner().invoke(cli, ["token", "sokha", "--json"], env=env)
    assert result.exit_code == 0, result.output
    token = json.loads(result.output)["token"]
    principal = verify_token(CommonSettings().auth_secret, token)
    assert (principal.actor.username, principal.actor.role) == ("sokha", Role.REVIEWER)
    unknown = CliRunner().invoke(cli, ["token", "nobody"], env=env)
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output
