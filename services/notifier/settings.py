"""Notifier configuration, read from the environment (UPR_*)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from contracts.settings import CommonSettings


class NotifierSettings(CommonSettings):
    kafka_username: str = "notifier"  # its own Kafka principal (contracts/kafka_access.py)
    notifier_host: str = "127.0.0.1"
    notifier_port: int = 8003

    # Email (UPR_SMTP_*). STARTTLS is used when the server offers it and smtp_starttls is on;
    # smtp_use_tls is implicit TLS (port 465).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_from: str = "UPR Tracker <alerts@upr-tracker.local>"
    smtp_timeout_s: float = 10.0

    # Signs unsubscribe links. Set it in production: the default only suits tests.
    notifier_secret: str = "change-me-notifier-secret"  # noqa: S105 - a placeholder, warned about
    public_ui_url: str = "http://127.0.0.1:8501"
    # Where unsubscribe links point: the notifier's own HTTP API (GET /unsubscribe?token=...).
    public_notifier_url: str = "http://127.0.0.1:8003"

    # Webhooks: hosts, addresses or networks allowed over http or on internal addresses.
    webhook_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout_s: float = 5.0

    # Retries inside one delivery (both channels), then dead-letter.
    delivery_attempts: int = 4
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0

    # Scheduler: how often it wakes, when digests go out, reminders before each milestone.
    scheduler_enabled: bool = True
    scheduler_interval_s: float = 60.0
    digest_hour_utc: int = 7
    digest_weekday: int = 0  # Monday
    reminder_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [90, 30, 7])

    # Deliveries sent in parallel (one per partition of the notifications topic at most):
    # a hanging endpoint then holds up only its own partition.
    delivery_workers: int = 3
    # Tracker events matched in parallel (one per partition of the tracker's events topic at most).
    # 1 by default: on FerretDB/SQLite parallel writers contend and each gets slower.
    event_workers: int = 1

    # How long the list of subscriptions is cached between matches.
    subscriptions_refresh_s: float = 5.0

    @field_validator("webhook_allowlist", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(v) for v in value.split(",") if v.strip()]
        return value
