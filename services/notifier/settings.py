"""Notifier configuration, read from the environment (UPR_*)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from contracts.settings import CommonSettings, require_secret

PLACEHOLDER_SECRET = "change-me-notifier-secret"  # noqa: S105 - refused outside dev mode


class NotifierSettings(CommonSettings):
    kafka_username: str = "notifier"  # its own Kafka principal (contracts/kafka_access.py)
    COMMAND_SIGNER: ClassVar[str] = ""  # it sends no commands: it holds no signing key
    VERIFIES_COMMANDS: ClassVar[bool] = True
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

    # Signs unsubscribe and confirmation links. Outside dev mode (UPR_ENV) the notifier refuses
    # to start with the placeholder or a secret shorter than 32 bytes.
    notifier_secret: str = PLACEHOLDER_SECRET
    # Fernet key(s), comma-separated, the first encrypting: webhook signing secrets are stored
    # encrypted with it. Required outside dev mode; in dev a key is derived from notifier_secret.
    notifier_secrets_key: str = ""
    # How long the links in emails work: unsubscribe (in every alert) and confirmation (double opt-in).
    unsubscribe_link_max_age_s: int = 90 * 86_400
    confirm_link_max_age_s: int = 3 * 86_400
    # The UI's public address: alerts link to <public_ui_url>/detail?id=<recommendation id>.
    public_ui_url: str = "http://127.0.0.1:8501"
    # Where unsubscribe and confirmation links point: the notifier's own HTTP API.
    public_notifier_url: str = "http://127.0.0.1:8003"

    # Webhooks: hosts, addresses or networks allowed over http or on internal addresses.
    webhook_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout_s: float = 5.0

    # Attempts per delivery, then dead-letter. Retries are scheduled in the delivery log
    # (next_attempt_at), never slept on: exponential backoff with jitter between them.
    delivery_attempts: int = 4
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0

    # Scheduler: how often it wakes, when digests go out, reminders before each milestone.
    scheduler_enabled: bool = True
    scheduler_interval_s: float = 60.0
    digest_hour_utc: int = 7
    digest_weekday: int = 0  # Monday
    reminder_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [90, 30, 7])

    # Sending: deliveries in flight at once, in all and per endpoint (a webhook's host:port, or
    # the SMTP server), so a hanging endpoint holds up only its own deliveries. Beyond
    # endpoint_backlog deliveries waiting for one endpoint, more are put back in the log for later.
    delivery_concurrency: int = 64
    endpoint_concurrency: int = 8
    endpoint_backlog: int = 1000
    # A delivery being sent is reserved for this long; after that (a notifier that died) the
    # retry loop of any notifier takes it over. Must exceed webhook_timeout_s / smtp_timeout_s.
    delivery_lease_s: float = 30.0
    # Retries are claimed when due by the notifier that scheduled them; every retry_poll_s the
    # retry loop also looks in the log for retries another notifier left, and every half
    # delivery_lease_s at every queued delivery (what a notifier that died had reserved).
    retry_poll_s: float = 5.0
    # Outcomes are written (and announced) together, at most this long after the attempt.
    outcome_flush_ms: int = 100

    # Consumption in batches: tracker events and notification requests, up to this many records
    # per batch (one read of the projection, one bulk insert of deliveries, one publish flush,
    # one commit), waiting at most batch_timeout_ms for the first record.
    notifier_batch_max_records: int = 500
    notifier_batch_timeout_ms: int = 100
    notifier_publish_linger_ms: int = 2

    # Telegram (a bot registered with @BotFather). Without a token the channel is off: nothing is
    # sent, the bot (scripts/services.sh: only with a token) does not run, the UI says so.
    telegram_bot_token: str = ""
    # The Bot API's address: Telegram's, or a local Bot API server (the tests' stand-in).
    telegram_api_url: str = "https://api.telegram.org"
    telegram_timeout_s: float = 10.0
    # How long a /start link made on the Subscriptions page works.
    telegram_link_max_age_s: int = 86_400

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


def refuse_insecure(settings: NotifierSettings) -> None:
    """Outside dev mode, refuse to start with secrets nobody chose (contracts.settings)."""
    require_secret(settings, "UPR_NOTIFIER_SECRET", settings.notifier_secret, placeholders=(PLACEHOLDER_SECRET,))
    require_secret(settings, "UPR_NOTIFIER_SECRETS_KEY", settings.notifier_secrets_key)


def webhook_secrets_key(settings: NotifierSettings) -> str:
    """The key webhook secrets are encrypted with: the setting, or in dev mode a derived one."""
    from contracts.webhook_secrets import derived_key

    return settings.notifier_secrets_key or derived_key(settings.notifier_secret)
