"""UI configuration, read from the environment (UPR_*). Nothing else in ui/ reads env vars."""

from __future__ import annotations

from contracts.settings import CommonSettings


class UISettings(CommonSettings):
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


def get_settings() -> UISettings:
    """Read afresh on every script run (cheap), so tests can change UPR_* between runs."""
    return UISettings()
