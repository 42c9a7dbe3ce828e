"""Kafka topic names, in one place.

Every name may carry a prefix (``UPR_TOPIC_PREFIX``) so that test runs and several
deployments can share one broker without seeing each other's events.
"""

from __future__ import annotations

from dataclasses import dataclass

# Recommendations parsed from files by the ingest service (key: recommendation_id).
RECOMMENDATIONS_IMPORTED = "upr.recommendations.imported"
# Commands from the UI and CLI to the tracker (key: recommendation id or subject id).
TRACKER_COMMANDS = "upr.tracker.commands"
# Facts the tracker has stored: tagged, evidence added, status changed ... (key: recommendation_id).
TRACKER_EVENTS = "upr.tracker.events"
# Notifier's own work queue: notification.requested (key: delivery id). Until the outcome
# topic below existed, notification.delivered/failed were published here too: a consumer of
# this topic ignores them.
NOTIFICATIONS = "upr.notifications"
# What became of each alert: notification.delivered / notification.failed (key: delivery id).
NOTIFICATION_OUTCOMES = "upr.notifications.outcomes"
# Subscription management commands to the notifier.
NOTIFIER_COMMANDS = "upr.notifier.commands"

# Partition counts: ordering matters per recommendation, so keys are recommendation ids;
# three partitions let up to three members of a consumer group share the load.
PARTITIONS: dict[str, int] = {
    RECOMMENDATIONS_IMPORTED: 3,
    TRACKER_COMMANDS: 3,
    TRACKER_EVENTS: 3,
    NOTIFICATIONS: 3,
    NOTIFICATION_OUTCOMES: 3,
    NOTIFIER_COMMANDS: 1,
}

# Consumer groups, one per consuming service.
TRACKER_GROUP = "upr-tracker"
NOTIFIER_GROUP = "upr-notifier"


def dead_letter(group: str) -> str:
    """The dead-letter topic of one consumer group: where messages it cannot process go."""
    return f"upr.dlq.{group}"


DEAD_LETTER_TOPICS = [dead_letter(TRACKER_GROUP), dead_letter(NOTIFIER_GROUP)]


@dataclass(frozen=True)
class Topics:
    """Topic names with a deployment prefix applied."""

    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def recommendations_imported(self) -> str:
        return self.name(RECOMMENDATIONS_IMPORTED)

    @property
    def tracker_commands(self) -> str:
        return self.name(TRACKER_COMMANDS)

    @property
    def tracker_events(self) -> str:
        return self.name(TRACKER_EVENTS)

    @property
    def notifications(self) -> str:
        return self.name(NOTIFICATIONS)

    @property
    def notification_outcomes(self) -> str:
        return self.name(NOTIFICATION_OUTCOMES)

    @property
    def notifier_commands(self) -> str:
        return self.name(NOTIFIER_COMMANDS)

    def dead_letter(self, group: str) -> str:
        return self.name(dead_letter(group))

    def all_with_partitions(self) -> dict[str, int]:
        topics = {self.name(t): n for t, n in PARTITIONS.items()}
        topics.update({self.name(t): 1 for t in DEAD_LETTER_TOPICS})
        return topics

