"""Telegram: sending alerts, and the bot's updates (``/start <token>``, ``/stop``), with
python-telegram-bot (asyncio, maintained, its Bot API address configurable: the tests point it
at a local stand-in, production at https://api.telegram.org or a local Bot API server)."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning


class TelegramRetryAfter(Exception):
    """Telegram answered 429: the next attempt must wait at least ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Telegram: too many requests, retry after {seconds:.0f} s")
        self.seconds = seconds


class PermanentTelegramError(Exception):
    """The chat blocked the bot, left, or does not exist: trying again changes nothing."""


def bot_api_base(api_url: str) -> str:
    """python-telegram-bot appends ``<token>/<method>`` to this."""
    return f"{api_url.rstrip('/')}/bot"


def make_bot(token: str, api_url: str, timeout_s: float, connections: int = 8) -> Bot:
    request = HTTPXRequest(connection_pool_size=connections, read_timeout=timeout_s, write_timeout=timeout_s,
                           connect_timeout=timeout_s, pool_timeout=timeout_s)
    return Bot(token, base_url=bot_api_base(api_url), request=request)


class TelegramSender:
    """Sends one alert to one chat (the dispatcher bounds how many at once)."""

    def __init__(self, token: str, api_url: str, timeout_s: float, connections: int = 8) -> None:
        self.bot = make_bot(token, api_url, timeout_s, connections)
        self._started = False

    async def send(self, chat_id: int, text: str) -> None:
        try:
            if not self._started:
                await self.bot.initialize()
                self._started = True
            await self.bot.send_message(chat_id, text, link_preview_options=LinkPreviewOptions(is_disabled=True))
        except RetryAfter as exc:
            with warnings.catch_warnings():  # an int now, a timedelta in the next major version: both read
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                after = exc.retry_after
            raise TelegramRetryAfter(after.total_seconds() if isinstance(after, timedelta) else float(after)) from None
        except (Forbidden, BadRequest, InvalidToken) as exc:
            raise PermanentTelegramError(f"Telegram refused: {exc}") from None
        except TelegramError as exc:  # network error, timeout, Telegram's own trouble: try again
            raise ConnectionError(f"Telegram: {exc}") from None

    async def close(self) -> None:
        if self._started:
            await self.bot.shutdown()
            self._started = False
