"""`upr token USERNAME`: a short-lived bearer token for the services' HTTP APIs.

For an operator on the host (who holds ``UPR_AUTH_SECRET`` in the environment, like the
services): the token names a user of the ``users`` collection with the role stored there,
so `curl -H "Authorization: Bearer $(upr token admin)" ...` acts as that user, no more.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from pymongo import MongoClient

from contracts.auth import issue_token
from contracts.documents import USERS, UserDoc
from contracts.events import Actor
from contracts.settings import CommonSettings, require_trust_secrets


def register(app: typer.Typer) -> None:
    @app.command("token")
    def token(
        username: str = typer.Argument(..., help="a user of `upr users list`"),
        ttl_s: int | None = typer.Option(None, "--ttl", min=1, max=24 * 3600,
                                         help="seconds it is valid (default UPR_AUTH_TOKEN_TTL_S)"),
        json_output: bool = typer.Option(False, "--json"),
    ) -> None:
        """Print a bearer token for USERNAME (its role as stored in MongoDB)."""
        settings = CommonSettings()
        require_trust_secrets(settings, commands=False)
        client: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri, tz_aware=True,
                                                          serverSelectionTimeoutMS=5000)
        try:
            doc = client[settings.mongodb_db][USERS].find_one({"_id": username})
        finally:
            client.close()
        if doc is None:
            typer.echo(f"error: no user {username!r} (see `upr users list`)", err=True)
            raise typer.Exit(1)
        user = UserDoc.model_validate(doc)
        if not user.active:
            typer.echo(f"error: user {username!r} is disabled", err=True)
            raise typer.Exit(1)
        ttl = ttl_s or settings.auth_token_ttl_s
        value = issue_token(settings.auth_secret, Actor(username=user.username, role=user.role,
                                                        organisation=user.organisation), ttl_s=ttl)
        if json_output:
            typer.echo(json.dumps({"token": value, "username": user.username, "role": user.role.value,
                                   "expires_in_s": ttl}))
        else:
            typer.echo(value)
