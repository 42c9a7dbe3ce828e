"""How the test harness logs in to Kafka: as admin, since it plays every producer and reads
every topic. The services under test log in as their own principals (their settings classes)."""

from __future__ import annotations

import os
from typing import Any

from contracts.kafka_access import KafkaAdminSettings, client_options

KAFKA_BOOTSTRAP = os.environ.get("UPR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def admin_settings(bootstrap: str = KAFKA_BOOTSTRAP, topic_prefix: str = "") -> KafkaAdminSettings:
    """Also what the `upr` CLI logs in as (admin), for tests that call its functions."""
    return KafkaAdminSettings(kafka_bootstrap=bootstrap, kafka_username="admin", kafka_password="",
                              kafka_sasl_mechanism=None, env="dev", topic_prefix=topic_prefix)


def kafka_options(bootstrap: str = KAFKA_BOOTSTRAP) -> dict[str, Any]:
    """aiokafka keyword arguments for a harness client."""
    return client_options(admin_settings(bootstrap))
