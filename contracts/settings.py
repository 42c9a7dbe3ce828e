"""Settings every service reads from the environment (prefix ``UPR_``).

Each service extends :class:`CommonSettings` in its own ``settings.py``; nothing
else reads environment variables.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import Topics


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPR_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = "upr"
    topic_prefix: str = ""
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)
