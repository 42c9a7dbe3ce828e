"""Who may do what on Kafka, and how every client logs in: the one place for both.

- Every Kafka client of the project is built with :func:`client_options` (aiokafka) or
  :func:`broker_security` (FastStream), so none connects without credentials.
- Each component has its own principal (:data:`GRANTS`), allowed only the topics it
  produces to or consumes from, and its own consumer groups. ``admin`` (the ``upr`` command
  line, and the broker itself) is the super user: it creates topics, users and ACLs.
- The admin account is defined in the broker's configuration (SASL/PLAIN), so it exists
  before anything else; component accounts are SCRAM credentials kept in the cluster,
  created (or given a new password) by :func:`ensure_topics`, i.e. ``upr topics create``.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts.settings import CommonSettings, require_secret
from contracts.topics import (
    NOTIFICATION_OUTCOMES,
    NOTIFICATIONS,
    NOTIFIER_COMMANDS,
    NOTIFIER_GROUP,
    RECOMMENDATIONS_IMPORTED,
    TRACKER_COMMANDS,
    TRACKER_EVENTS,
    TRACKER_GROUP,
    Topics,
    dead_letter,
)

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

ADMIN = "admin"


@dataclass(frozen=True)
class Grant:
    """What one principal may do (topic and group names without the deployment prefix)."""

    produce: tuple[str, ...] = ()
    consume: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


# Derived from where each component produces and consumes (services/*/app.py, ui/commands.py).
GRANTS: dict[str, Grant] = {
    # Imported rows, and evidence.submitted commands from the bulk evidence template.
    "ingest": Grant(produce=(RECOMMENDATIONS_IMPORTED, TRACKER_COMMANDS)),
    "tracker": Grant(
        # Its own events too: the Dashboard's summaries are recounted from them.
        consume=(RECOMMENDATIONS_IMPORTED, TRACKER_COMMANDS, TRACKER_EVENTS),
        produce=(TRACKER_EVENTS, dead_letter(TRACKER_GROUP)),
        groups=(TRACKER_GROUP,),
    ),
    # The notifications topic is its own work queue: it reads what it writes. What became of
    # each alert goes to the outcomes topic, which only it writes.
    "notifier": Grant(
        consume=(NOTIFIER_COMMANDS, TRACKER_EVENTS, NOTIFICATIONS),
        produce=(NOTIFICATIONS, NOTIFICATION_OUTCOMES, dead_letter(NOTIFIER_GROUP)),
        groups=(NOTIFIER_GROUP,),
    ),
    "ui": Grant(produce=(TRACKER_COMMANDS, NOTIFIER_COMMANDS)),
}
PRINCIPALS = (ADMIN, *GRANTS)


def dev_password(user: str) -> str:
    """The fixed password of a principal on a local (dev mode) stack; never accepted in production."""
    return f"upr-dev-kafka-{user}"


def credentials(settings: CommonSettings) -> tuple[str, str, str]:
    """(username, password, SASL mechanism) of this process; refuses a missing password in production."""
    user = settings.kafka_username
    password = settings.kafka_password or (dev_password(user) if settings.dev_mode else "")
    require_secret(settings, "UPR_KAFKA_PASSWORD", password)
    # The admin account lives in the broker's own configuration (PLAIN); the others are SCRAM.
    mechanism = settings.kafka_sasl_mechanism or ("PLAIN" if user == ADMIN else "SCRAM-SHA-512")
    return user, password, mechanism


def _ssl_context(settings: CommonSettings) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=settings.kafka_ca_file or None) if settings.kafka_tls else None


def client_options(settings: CommonSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    user, password, mechanism = credentials(settings)
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": "SASL_SSL" if settings.kafka_tls else "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }
    if settings.kafka_tls:
        options["ssl_context"] = _ssl_context(settings)
    return options


def broker_security(settings: CommonSettings) -> BaseSecurity:
    """The FastStream ``security=`` of a service's KafkaBroker."""
    from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

    user, password, mechanism = credentials(settings)
    kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[mechanism]
    return kind(username=user, password=password, ssl_context=_ssl_context(settings), use_ssl=settings.kafka_tls)


class KafkaAdminSettings(CommonSettings):
    """What `upr topics create` needs beyond the common settings: the password each component
    gets (UPR_KAFKA_<COMPONENT>_PASSWORD; in dev mode the fixed local ones when unset)."""

    kafka_ingest_password: str = ""
    kafka_tracker_password: str = ""
    kafka_notifier_password: str = ""
    kafka_ui_password: str = ""

    def component_passwords(self) -> dict[str, str]:
        passwords = {}
        for user in GRANTS:
            password = getattr(self, f"kafka_{user}_password") or (dev_password(user) if self.dev_mode else "")
            require_secret(self, f"UPR_KAFKA_{user.upper()}_PASSWORD", password)
            passwords[user] = password
        return passwords


def acl_bindings(topics: Topics) -> list[Any]:
    """Every ACL of :data:`GRANTS` for one deployment prefix (topic names exact, groups by prefix)."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    def allow(kind: Any, name: str, pattern: Any, user: str, operation: Any) -> Any:
        return AclBinding(kind, name, pattern, f"User:{user}", "*", operation, AclPermissionType.ALLOW)

    bindings = []
    for user, grant in GRANTS.items():
        for topic in grant.produce:
            bindings.append(allow(ResourceType.TOPIC, topics.name(topic), ResourcePatternType.LITERAL, user,
                                  AclOperation.WRITE))
        for topic in grant.consume:
            bindings.append(allow(ResourceType.TOPIC, topics.name(topic), ResourcePatternType.LITERAL, user,
                                  AclOperation.READ))
        # Groups by prefix: the tracker's group is not prefixed (a replay uses a new group name
        # such as upr-tracker-replay), the notifier's is.
        for group in grant.groups:
            for name in dict.fromkeys((group, topics.name(group))):
                bindings.append(allow(ResourceType.GROUP, name, ResourcePatternType.PREFIXED, user,
                                      AclOperation.READ))
    return bindings


def _librdkafka_config(settings: CommonSettings) -> dict[str, Any]:
    user, password, mechanism = credentials(settings)
    config = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": "SASL_SSL" if settings.kafka_tls else "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password,
    }
    if settings.kafka_tls and settings.kafka_ca_file:
        config["ssl.ca.location"] = settings.kafka_ca_file
    return config


def provision_access(settings: KafkaAdminSettings, topics: Topics, timeout_s: float = 30.0) -> None:
    """Create or update every component's SCRAM credentials and ACLs (idempotent; run as admin).

    confluent-kafka, because aiokafka has no API for either."""
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialAlteration,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient(_librdkafka_config(settings))
    passwords = settings.component_passwords()
    # One request per mechanism: Kafka refuses two changes to one user in a request.
    for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(user, ScramCredentialInfo(mechanism, 8192), password.encode())
            for user, password in passwords.items()
        ]
        for future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s).values():
            future.result()
    for future in admin.create_acls(acl_bindings(topics), request_timeout=timeout_s).values():
        future.result()


async def ensure_topics(settings: KafkaAdminSettings, topics: Topics) -> list[str]:
    """As admin: create any missing topic with its partition count, then every component's
    credentials and ACLs; returns the topics created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(client_id="upr-admin", **client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = topics.all_with_partitions()
        missing = [NewTopic(name, n, 1) for name, n in wanted.items() if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except Exception as exc:  # another process created them meanwhile
                if "TopicAlreadyExists" not in type(exc).__name__ + str(exc):
                    raise
    finally:
        await admin.close()
    await asyncio.to_thread(provision_access, settings, topics)
    return [topic.name for topic in missing]
