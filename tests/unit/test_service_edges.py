"""Issue 13 rows 1 and 3: every HTTP endpoint of ingest, tracker and notifier but /health,
/metrics and the notifier's signed links needs a bearer token. Requests go to the real app
objects (ASGI, no server); the refusals come before any database or broker is touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.auth import issue_token, service_token, verify_token
from contracts.events import Actor, Role
from contracts.settings import CommonSettings, InsecureSettings, require_trust_secrets
from upr.commands.keys import new_keys

SECRET = CommonSettings().auth_secret
ADMIN = Actor(username="admin", role=Role.ADMIN, organisation="CNCC")
VIEWER = Actor(username="viewer", role=Role.VIEWER)
FORGED_HEADER = {"X-UPR-User": ADMIN.model_dump_json()}


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, Any]]:
    from services.ingest.app import build_app as ingest
    from services.notifier.app import build_app as notifier
    from services.tracker.app import build_app as tracker

    yield {"ingest": ingest(), "tracker": tracker(tagger=object()), "notifier": notifier()}  # type: ignore[arg-type]


async def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        return await client.request(method, path, headers=headers or {}, content=b"x" if method == "POST" else None)


# Every endpoint a service's HTTP API has (grep Route( in services/*/adapters/http.py and app.py).
ENDPOINTS = [
    ("ingest", "POST", "/imports?format=upr_info_csv"),
    ("ingest", "GET", "/templates/recommendations.xlsx"),
    ("tracker", "GET", "/reports/KHM/4?format=md&coalition=1&all=1"),
    ("notifier", "GET", "/anything-but-unsubscribe"),
]


@pytest.mark.parametrize(("service", "method", "path"), ENDPOINTS)
async def test_row1_forged_x_upr_user_header_gets_401(apps: dict[str, Any], service: str, method: str,
                                                      path: str) -> None:
    response = await call(apps[service], method, path, FORGED_HEADER)
    assert response.status_code == 401
    assert "X-UPR-User header is not a credential" in response.json()["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("service", "method", "path"), ENDPOINTS)
async def test_row1_expired_or_forged_token_gets_401(apps: dict[str, Any], service: str, method: str,
                                                     path: str) -> None:
    expired = issue_token(SECRET, ADMIN, ttl_s=60, now=datetime.now(UTC) - timedelta(minutes=5))
    forged = issue_token("a-secret-the-attacker-chose-himself", ADMIN)
    for token, message in ((expired, "expired"), (forged, "Signature verification failed")):
        response = await call(apps[service], method, path, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert message in response.json()["error"]


async def test_row1_health_metrics_and_unsubscribe_need_no_token(apps: dict[str, Any]) -> None:
    for service in ("ingest", "tracker", "notifier"):
        assert (await call(apps[service], "GET", "/metrics")).status_code == 200
    # The unsubscribe link is checked by its own signed token, not a bearer token.
    response = await call(apps["notifier"], "GET", "/unsubscribe?token=nonsense")
    assert response.status_code == 400


async def test_the_read_api_and_the_confirmation_link_answer_anonymous_callers(apps: dict[str, Any]) -> None:
    # The read API's anonymous view is the public projection (services/tracker/domain/publication.py).
    themes = await call(apps["tracker"], "GET", "/api/v1/themes")
    assert themes.status_code == 200 and themes.json()[0]["id"] == "T01"
    assert (await call(apps["tracker"], "GET", "/api/v1/openapi.json")).status_code == 200
    # The double opt-in link is checked by its own signed token, like the unsubscribe link.
    assert (await call(apps["notifier"], "GET", "/confirm?token=nonsense")).status_code != 401


async def test_row1_viewer_may_not_import_a_file(apps: dict[str, Any]) -> None:
    viewer = {"Authorization": f"Bearer {issue_token(SECRET, VIEWER)}"}
    response = await call(apps["ingest"], "POST", "/imports", viewer)
    assert response.status_code == 403
    assert "viewer (viewer) may not import files" in response.json()["error"]


async def test_row3_viewer_token_on_the_coalition_report_gets_403(apps: dict[str, Any]) -> None:
    for token in (issue_token(SECRET, VIEWER), service_token(SECRET, "ui")):
        response = await call(apps["tracker"], "GET", "/reports/KHM/4?format=md&coalition=1&all=1",
                              {"Authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert "may not read coalition-only evidence" in response.json()["error"]


def test_token_names_user_and_role_and_expires() -> None:
    principal = verify_token(SECRET, issue_token(SECRET, ADMIN, ttl_s=60))
    assert principal.actor == ADMIN and principal.kind == "user"
    assert verify_token(SECRET, service_token(SECRET, "ui")).kind == "service"


def test_production_refuses_placeholder_token_secret_and_missing_or_weak_command_keys() -> None:
    with pytest.raises(InsecureSettings, match="UPR_AUTH_SECRET"):
        require_trust_secrets(CommonSettings(env="production"))
    # A producer (here the CLI) needs its own signing key and the tracker's text key.
    with pytest.raises(InsecureSettings, match="UPR_COMMAND_SIGNING_KEY"):
        require_trust_secrets(CommonSettings(env="production", auth_secret="s" * 32))
    keys = new_keys("k1")
    producer = {"auth_secret": "s" * 32, "command_signing_key": keys["UPR_COMMAND_SIGNING_KEY_CLI"]}
    with pytest.raises(InsecureSettings, match="UPR_TEXT_PUBLIC_KEY"):
        require_trust_secrets(CommonSettings(env="production", **producer))
    require_trust_secrets(CommonSettings(env="production", text_public_key=keys["UPR_TEXT_PUBLIC_KEY"], **producer))
    # The old shared key is optional now, but a weak one is still refused.
    with pytest.raises(InsecureSettings, match="UPR_COMMAND_KEY"):
        require_trust_secrets(CommonSettings(env="production", text_public_key=keys["UPR_TEXT_PUBLIC_KEY"],
                                             command_key="short", **producer))
