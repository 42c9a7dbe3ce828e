"""The pages behind the links in alert emails (``/unsubscribe``, ``/confirm``): each carries a
signed token instead of a bearer token. One factory makes every such page: read the token,
act on it, answer a short bilingual page, or 400 with the reason when the token is bad."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from services.notifier.adapters.tokens import InvalidToken


@dataclass(frozen=True)
class SignedLink:
    path: str
    act: Callable[[str], Awaitable[Any]]  # given the link's token; raises InvalidToken
    title: str  # of the page when the token is refused
    done_title: str
    done_message: str


def signed_link_route(link: SignedLink) -> Route:
    async def page(request: Request) -> Response:
        try:
            await link.act(request.query_params.get("token", ""))
        except InvalidToken as exc:
            return HTMLResponse(_page(link.title, str(exc)), status_code=400)
        return HTMLResponse(_page(link.done_title, link.done_message))

    return Route(link.path, page, methods=["GET"])


def signed_links_api(links: Sequence[SignedLink]) -> Starlette:
    return Starlette(routes=[signed_link_route(link) for link in links])


def _page(title: str, message: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
