"""Bearer tokens on the services' HTTP edges: who is calling, and in which role.

A token is a JWT (PyJWT, HS256 with ``UPR_AUTH_SECRET``) naming the user (``sub``), the
role and organisation, issued by the UI for its logged-in user, by ``upr token`` for an
operator, or as a service token (``kind: service``) for calls no user makes. It expires
after minutes. The services trust nothing else: an ``X-UPR-User`` header means nothing.

Every HTTP request a service's Starlette API receives passes :class:`RequireToken` except
the paths it is told are public (the notifier's unsubscribe link carries its own signed
token); ``/health`` and ``/metrics`` are FastStream routes and never reach it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contracts.events import Actor, Role

ISSUER = "upr-tracker"
AUDIENCE = "upr-services"
ALGORITHM = "HS256"
DEFAULT_TTL_S = 300
# Where the verified caller is kept in the ASGI scope for the endpoints.
SCOPE_KEY = "upr.principal"

# Roles that may read coalition-only evidence (the same rule as the UI's read model).
COALITION_ROLES = (Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN)

Kind = Literal["user", "service"]


class TokenError(Exception):
    """Missing, expired or forged credential: the caller gets 401 with this message."""


@dataclass(frozen=True)
class Principal:
    actor: Actor
    kind: Kind = "user"


def issue_token(secret: str, actor: Actor, *, ttl_s: int = DEFAULT_TTL_S, kind: Kind = "user",
                now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": actor.username, "role": actor.role.value,
        "org": actor.organisation, "kind": kind,
        "iat": issued, "exp": issued + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def service_token(secret: str, service: str, *, role: Role = Role.VIEWER, ttl_s: int = DEFAULT_TTL_S) -> str:
    """For calls a service makes on its own account (the UI fetching a blank template): it
    carries the least role the call needs, never a user's."""
    return issue_token(secret, Actor(username=f"service:{service}", role=role), ttl_s=ttl_s, kind="service")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "role"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired: sign in again") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid token ({exc})") from None
    try:
        actor = Actor(username=claims["sub"], role=claims["role"], organisation=claims.get("org"))
    except ValueError:
        raise TokenError("invalid token (unknown role or user name)") from None
    kind: Kind = "service" if claims.get("kind") == "service" else "user"
    return Principal(actor, kind)


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class RequireToken:
    """ASGI middleware: every HTTP request but ``public_paths`` needs a valid bearer token."""

    def __init__(self, app: Any, *, secret: str, public_paths: Iterable[str] = (),
                 public_prefixes: Iterable[str] = ()) -> None:
        self.app = app
        self.secret = secret
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = tuple(public_prefixes)  # e.g. the read API, open to anonymous callers

    def _public(self, path: str) -> bool:
        return path in self.public_paths or any(path.startswith(prefix) for prefix in self.public_prefixes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._public(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        try:
            scope[SCOPE_KEY] = verify_token(self.secret, _bearer(scope))
        except TokenError as exc:
            response = JSONResponse({"error": str(exc)}, status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer realm="upr-tracker"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _bearer(scope: Any) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise TokenError("the Authorization header must be 'Bearer <token>'")
    raise TokenError("sign in first: this endpoint needs an 'Authorization: Bearer <token>' header "
                     "(an X-UPR-User header is not a credential)")


def principal(request: Request) -> Principal:
    """The caller :class:`RequireToken` verified (it runs before every non-public endpoint)."""
    found = request.scope.get(SCOPE_KEY)
    if not isinstance(found, Principal):
        raise TokenError("no verified caller")  # only if an endpoint was left unprotected
    return found


def forbidden_unless(request: Request, roles: Iterable[Role], what: str) -> Response | None:
    """403 with a clear message when the caller's role may not do ``what``; None when it may."""
    allowed = tuple(roles)
    caller = principal(request).actor
    if caller.role in allowed:
        return None
    names = ", ".join(r.value for r in allowed)
    return JSONResponse({"error": f"{caller.username} ({caller.role.value}) may not {what}: "
                                  f"it needs one of the roles {names}"}, status_code=403)
