"""Kafka logins and ACLs (contracts/kafka_access.py): what each principal is granted, and that
production refuses to connect without a chosen password."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from contracts.kafka_access import GRANTS, KafkaAdminSettings, acl_bindings, broker_security, client_options
from contracts.settings import InsecureSettings
from contracts.topics import NOTIFICATION_OUTCOMES, PARTITIONS, Topics
from services.notifier.settings import NotifierSettings
from services.tracker.settings import TrackerSettings
from ui.settings import UISettings


def allowed(topics: Topics, user: str, operation: AclOperation) -> set[str]:
    return {b.name for b in acl_bindings(topics) if b.principal == f"User:{user}"
            and b.restype == ResourceType.TOPIC and b.operation == operation}


def test_each_component_logs_in_as_itself() -> None:
    for cls, user in ((TrackerSettings, "tracker"), (NotifierSettings, "notifier"), (UISettings, "ui")):
        options = client_options(cls(env="dev"))
        assert options["sasl_plain_username"] == user
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["security_protocol"] == "SASL_PLAINTEXT"
    admin = client_options(KafkaAdminSettings(env="dev"))
    assert (admin["sasl_plain_username"], admin["sasl_mechanism"]) == ("admin", "PLAIN")


def test_production_refuses_a_missing_or_short_kafka_password() -> None:
    with pytest.raises(InsecureSettings, match="UPR_KAFKA_PASSWORD"):
        client_options(TrackerSettings(env="production"))
    with pytest.raises(InsecureSettings, match="UPR_KAFKA_PASSWORD"):
        broker_security(TrackerSettings(env="production", kafka_password="short"))
    with pytest.raises(InsecureSettings, match="UPR_KAFKA_UI_PASSWORD"):
        KafkaAdminSettings(env="production", kafka_ingest_password="i" * 32, kafka_tracker_password="t" * 32,
                           kafka_notifier_password="n" * 32).component_passwords()
    chosen = "a-long-random-password-chosen-by-the-operator"
    assert client_options(TrackerSettings(env="production", kafka_password=chosen))["sasl_plain_password"] == chosen


def test_the_ui_may_only_send_commands() -> None:
    topics = Topics(prefix="p.")
    assert allowed(topics, "ui", AclOperation.WRITE) == {"p.upr.tracker.commands", "p.upr.notifier.commands"}
    assert allowed(topics, "ui", AclOperation.READ) == set()


def test_only_the_tracker_writes_tracker_events_and_only_the_notifier_writes_outcomes() -> None:
    topics = Topics()
    writers = {user: allowed(topics, user, AclOperation.WRITE) for user in GRANTS}
    assert [u for u, names in writers.items() if topics.tracker_events in names] == ["tracker"]
    assert [u for u, names in writers.items() if topics.notifications in names] == ["notifier"]
    assert [u for u, names in writers.items() if topics.notification_outcomes in names] == ["notifier"]


def test_every_topic_has_a_writer_and_every_consumed_topic_a_reader() -> None:
    topics = Topics()
    written = set().union(*(allowed(topics, u, AclOperation.WRITE) for u in GRANTS))
    assert written == set(topics.all_with_partitions())
    read = set().union(*(allowed(topics, u, AclOperation.READ) for u in GRANTS))
    # Dead-letter topics are read by admin (`upr dlq`); delivery outcomes by monitoring (admin).
    assert read == {topics.name(t) for t in PARTITIONS if t != NOTIFICATION_OUTCOMES}


def test_consumer_groups_are_granted_by_prefix_under_the_deployment_prefix_too() -> None:
    groups = {(b.principal, b.name) for b in acl_bindings(Topics(prefix="t1.")) if b.restype == ResourceType.GROUP}
    assert groups == {("User:tracker", "upr-tracker"), ("User:tracker", "t1.upr-tracker"),
                      ("User:notifier", "upr-notifier"), ("User:notifier", "t1.upr-notifier")}
    assert all(b.resource_pattern_type == ResourcePatternType.PREFIXED
               for b in acl_bindings(Topics()) if b.restype == ResourceType.GROUP)
