"""UI configuration, read from the environment (UPR_*). Nothing else in ui/ reads env vars."""

from __future__ import annotations

from typing import ClassVar

from contracts.settings import CommonSettings


class UISettings(CommonSettings):
    kafka_username: str = "ui"  # its own Kafka principal (contracts/kafka_access.py)
    COMMAND_SIGNER: ClassVar[str] = "ui"  # whose dev key it signs commands with in dev mode
    ui_port: int = 8501
    public_port: int = 8502  # the public progress page (ui/public/site.py), same settings: one UI package
    ingest_url: str = "http://127.0.0.1:8002"
    tracker_url: str = "http://127.0.0.1:8001"
    notifier_url: str = "http://127.0.0.1:8003"
    # How long a page waits for the tracker to confirm a command before saying "still working".
    command_timeout_s: float = 15.0
    # Login rate limit (ui/auth.py): after this many failures per username and per client, each next
    # try waits login_backoff_s, doubling per further failure, up to login_user_max_wait_s for a
    # username (its real owner is never locked out for longer) and login_window_s for a client;
    # failures older than login_window_s are forgotten.
    login_max_failures: int = 5
    login_backoff_s: int = 2
    login_user_max_wait_s: int = 60
    login_window_s: int = 900
    # Behind a trusted reverse proxy: the request header holding the browser's address
    # (e.g. X-Forwarded-For); empty: the address the connection comes from.
    login_client_header: str = ""
    page_size: int = 50
    # Login sessions (ui/sessions.py): the key that signs the session cookie (empty: a key made up
    # per process, so everyone logs in again after a restart), the idle timeout and the absolute
    # lifetime, and whether the cookie is Secure (None: when the request came over HTTPS).
    ui_session_secret: str = ""
    ui_session_idle_s: int = 3600
    ui_session_max_age_s: int = 14 * 24 * 3600
    ui_cookie_secure: bool | None = None
    # Optional single sign-on through Streamlit's OIDC login (README "Single sign-on"): the name of the
    # provider's section in .streamlit/secrets.toml ([auth.<name>]; empty: local passwords only), the
    # name the "Sign in with ..." button shows (empty: the section's name), and how soon after the
    # provider issued an identity it must be used (each identity opens one session, once).
    ui_oidc_provider: str = ""
    ui_oidc_label: str = ""
    ui_oidc_max_age_s: int = 600


def get_settings() -> UISettings:
    """Read afresh on every script run (cheap), so tests can change UPR_* between runs."""
    return UISettings()
