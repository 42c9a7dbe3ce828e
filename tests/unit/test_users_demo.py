"""Issue 13 row 8 (part): the demo logins, whose passwords the README publishes, need --dev and dev mode."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from upr.cli import app


def test_row8_upr_users_demo_needs_the_dev_flag() -> None:
    result = CliRunner().invoke(app, ["users", "demo"])
    assert result.exit_code == 2
    assert "pass --dev" in result.output


def test_row8_upr_users_demo_refuses_outside_dev_mode_even_with_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPR_ENV", "production")
    monkeypatch.setenv("UPR_MONGODB_URI", "mongodb://127.0.0.1:9")  # never reached
    result = CliRunner().invoke(app, ["users", "demo", "--dev"])
    assert result.exit_code == 2
    assert "outside dev mode" in result.output


def test_row8_demo_logins_are_refused_in_production_whoever_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.auth import UserError, ensure_demo_users

    monkeypatch.setenv("UPR_ENV", "production")
    with pytest.raises(UserError, match="outside dev mode"):
        ensure_demo_users(None)  # type: ignore[arg-type]  # refused before any database is touched
