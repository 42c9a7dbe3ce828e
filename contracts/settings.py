"""Settings every service reads from the environment (prefix ``UPR_``).

Each service extends :class:`CommonSettings` in its own ``settings.py``; nothing
else reads environment variables.
"""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import Topics

# Placeholders that let a dev run (and the tests) work with no setup; refused in production.
DEV_AUTH_SECRET = "dev-only-auth-secret-not-for-production"  # noqa: S105
DEV_COMMAND_KEY = "dev-only-command-key-not-for-production"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPR_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Kafka login (contracts/kafka_access.py): each service's settings name its own principal;
    # the command line is admin. The password is required outside dev mode; the mechanism
    # defaults to PLAIN for admin (an account of the broker's config) and SCRAM-SHA-512 otherwise.
    kafka_username: str = "admin"
    kafka_password: str = ""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = None
    # SASL_SSL instead of SASL_PLAINTEXT, checking the broker against this CA file (empty: the system's).
    kafka_tls: bool = False
    kafka_ca_file: str = ""
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = "upr"
    topic_prefix: str = ""
    log_level: str = "INFO"
    log_json: bool = False
    # Production unless told otherwise: a deployment that forgets this gets the strict
    # checks (no placeholder secrets, no demo users). `make up`, `make demo` and the tests
    # set UPR_ENV=dev.
    env: Literal["dev", "production"] = "production"
    # Signs the bearer tokens the services' HTTP APIs require (JWT, HS256): the UI, `upr token`
    # and the services share it. Signs commands on Kafka (HMAC-SHA256): the UI, the CLI and the
    # ingest sign, the tracker and the notifier verify. Placeholders only pass in dev mode.
    auth_secret: str = DEV_AUTH_SECRET
    command_key: str = DEV_COMMAND_KEY
    # Lifetime of the tokens the UI and `upr token` issue (seconds).
    auth_token_ttl_s: int = 300

    @property
    def dev_mode(self) -> bool:
        return self.env == "dev"

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)


MIN_SECRET_BYTES = 32


class InsecureSettings(RuntimeError):
    """A production service was started with a secret nobody chose."""


def require_secret(settings: CommonSettings, name: str, value: str, placeholders: tuple[str, ...] = ()) -> None:
    """Refuse to start outside dev mode with a placeholder or short secret (``name`` is the
    environment variable, so the message says what to set)."""
    if settings.dev_mode:
        return
    if value in placeholders or len(value.encode("utf-8")) < MIN_SECRET_BYTES:
        raise InsecureSettings(
            f"{name} must be set to a random secret of at least {MIN_SECRET_BYTES} bytes "
            "(or set UPR_ENV=dev for a local, non-production run)"
        )


def require_trust_secrets(settings: CommonSettings, *, tokens: bool = True, commands: bool = True) -> None:
    """Outside dev mode, refuse to start with the placeholder token secret or command key."""
    if tokens:
        require_secret(settings, "UPR_AUTH_SECRET", settings.auth_secret, (DEV_AUTH_SECRET,))
    if commands:
        require_secret(settings, "UPR_COMMAND_KEY", settings.command_key, (DEV_COMMAND_KEY,))
