"""`upr users add|list|demo`: logins and roles for the Streamlit workspace."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from pymongo import MongoClient
from pymongo.database import Database

from contracts.events import Role
from contracts.settings import CommonSettings


def _db() -> Database[dict[str, Any]]:
    settings = CommonSettings()
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri, tz_aware=True,
                                                      serverSelectionTimeoutMS=5000)
    return client[settings.mongodb_db]


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Logins and roles for the web workspace.", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("add")
    def add(
        username: str,
        role: Role = typer.Option(..., "--role", help="viewer, cso_member, reviewer or admin"),
        password: str | None = typer.Option(None, "--password", help="prefer --password-stdin"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
        organisation: str | None = typer.Option(None, "--organisation"),
        email: str | None = typer.Option(None, "--email"),
        display_name: str = typer.Option("", "--name"),
    ) -> None:
        """Create a login (passwords are stored as argon2 hashes)."""
        from ui.auth import UserError, add_user, ensure_user_indexes

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        db = _db()
        ensure_user_indexes(db)
        try:
            user = add_user(db, username, role, password, organisation=organisation, email=email,
                            display_name=display_name)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"added {user.username} ({user.role.value})")

    @users_app.command("list")
    def list_(json_output: bool = typer.Option(False, "--json")) -> None:
        """List logins and their roles (never the password hashes)."""
        from ui.auth import list_users

        users = list_users(_db())
        if json_output:
            typer.echo(json.dumps([u.model_dump(mode="json", exclude={"password_hash"}) for u in users],
                                  ensure_ascii=False))
            return
        for u in users:
            state = "" if u.active else "  (disabled)"
            typer.echo(f"{u.username:20} {u.role.value:11} {u.organisation or '':30}{state}")

    @users_app.command("demo")
    def demo(
        dev: bool = typer.Option(False, "--dev", help="required: these passwords are public (README)"),
    ) -> None:
        """Create the demo logins (viewer, cso, reviewer, admin) if missing; used by `make demo`.
        Their passwords are in the README, so this needs --dev and refuses outside dev mode (UPR_ENV=dev)."""
        from ui.auth import DEMO_USERS, ensure_demo_users

        if not dev:
            typer.echo("error: the demo logins have public passwords; pass --dev to create them "
                       "(local runs only)", err=True)
            raise typer.Exit(2)
        if not CommonSettings().dev_mode:
            typer.echo("error: refusing to create demo logins outside dev mode; set UPR_ENV=dev for a "
                       "local, non-production run", err=True)
            raise typer.Exit(2)
        created = ensure_demo_users(_db())
        for username, role, password, _ in DEMO_USERS:
            mark = "created" if username in created else "exists"
            typer.echo(f"{username:10} {role.value:11} password: {password}  ({mark})")
