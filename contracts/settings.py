"""Settings every service reads from the environment (prefix ``UPR_``).

Each service extends :class:`CommonSettings` in its own ``settings.py``; nothing
else reads environment variables.
"""

from __future__ import annotations

from typing import ClassVar, Literal

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
    # This component's own Ed25519 key, ``component:base64`` (`upr keys new`): the UI, the ingest
    # and the CLI sign commands with it. The tracker and the notifier hold only the public keys,
    # ``ui:base64,ingest:base64,cli:base64``. Empty in dev mode: well-known dev keys
    # (contracts/signing.py). Outside dev mode UPR_COMMAND_KEY above is only the old shared key,
    # still accepted by the consumers when set, for commands signed before per-producer keys.
    command_signing_key: str = ""
    command_public_keys: str = ""
    # The tracker's public key for people's text in commands, ``id:base64`` (X25519): producers
    # seal titles, quotes, rationales and comments with a fresh data key wrapped to it
    # (contracts/sealed_text.py). Empty in dev mode: the well-known dev key.
    text_public_key: str = ""
    # Lifetime of the tokens the UI and `upr token` issue (seconds).
    auth_token_ttl_s: int = 300

    # Who this process signs commands as in dev mode (a production key names its component).
    COMMAND_SIGNER: ClassVar[str] = "cli"
    # The tracker and the notifier verify commands instead of signing them.
    VERIFIES_COMMANDS: ClassVar[bool] = False

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
    """Outside dev mode, refuse to start with the placeholder token secret, or without this
    component's command keys: its own signing key and the tracker's text key (a producer), the
    producers' public keys (a consumer). The old shared key, when set, must be a real secret."""
    if tokens:
        require_secret(settings, "UPR_AUTH_SECRET", settings.auth_secret, (DEV_AUTH_SECRET,))
    if not commands or settings.dev_mode:
        return
    from contracts import sealed_text, signing  # they import this module

    try:
        if settings.VERIFIES_COMMANDS:
            signing.command_keys(settings)
        else:
            signing.command_signer(settings)
            sealed_text.text_public_key(settings)
    except ValueError as exc:
        raise InsecureSettings(str(exc)) from None
    if settings.command_key and settings.command_key != DEV_COMMAND_KEY:
        require_secret(settings, "UPR_COMMAND_KEY", settings.command_key)
