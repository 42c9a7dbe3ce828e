"""UI configuration, read from the environment (UPR_*). Nothing else in ui/ reads env vars."""

from __future__ import annotations

from contracts.settings import CommonSettings


class UISettings(CommonSettings):
    kafka_username: str = "ui"  # its own Kafka principal (contracts/kafka_access.py)
    ui_port: int = 8501
    ingest_url: str = "http://127.0.0.1:8002"
    tracker_url: str = "http://127.0.0.1:8001"
    notifier_url: str = "http://127.0.0.1:8003"
    # How long a page waits for the tracker to confirm a command before saying "still working".
    command_timeout_s: float = 15.0
    # Login rate limit: this many failures per username within the window locks it for the window.
    login_max_failures: int = 5
    login_window_s: int = 900
    page_size: int = 50
    # Login sessions (ui/sessions.py): the key that signs the session cookie (empty: a key made up
    # per process, so everyone logs in again after a restart), the idle timeout and the absolute
    # lifetime, and whether the cookie is Secure (None: when the request came over HTTPS).
    ui_session_secret: str = ""
    ui_session_idle_s: int = 3 * 24 * 3600
    ui_session_max_age_s: int = 14 * 24 * 3600
    ui_cookie_secure: bool | None = None


def get_settings() -> UISettings:
    """Read afresh on every script run (cheap), so tests can change UPR_* between runs."""
    return UISettings()
