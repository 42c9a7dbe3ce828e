"""Telegram alerts, against a local Bot API stand-in: a real aiohttp server speaking the Bot
API's getMe / getUpdates / sendMessage JSON, which python-telegram-bot is pointed at by the
notifier's UPR_TELEGRAM_API_URL (as production points it at api.telegram.org). The notifier
and the bot run for real on the Kafka + FerretDB stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from contracts.events import Actor, Channel, Role, SubscriptionRequestedV3, Visibility
from contracts.telegram import link_hash, new_link_token
from contracts.topics import Topics
from services.notifier.app import build_app
from services.notifier.settings import NotifierSettings
from services.notifier.telegram_bot import TelegramBot
from tests.integration.helpers import free_port, send, signed_event, wait_for
from tests.integration.notifier_helpers import evidence_added, tracker_event

pytestmark = pytest.mark.integration

TOKEN = "123456:TEST-token"
SOKHA = Actor(username="sokha", role=Role.CSO_MEMBER, organisation="Child Rights Coalition")
DARA = Actor(username="dara", role=Role.VIEWER)


@dataclass
class Sent:
    chat_id: int
    text: str
    at: float


@dataclass
class BotApiStandIn:
    """What Telegram's Bot API does for this bot, in memory."""

    port: int
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    refused: list[Sent] = field(default_factory=list)  # sendMessage answered 429
    too_many: int = 0  # answer the next n sendMessage with 429 retry_after=1
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def user_says(self, chat_id: int, text: str, chat_type: str = "private") -> None:
        command = text.split(" ", 1)[0]
        message = {"message_id": len(self.updates) + 1, "date": int(time.time()),
                   "chat": {"id": chat_id, "type": chat_type, "first_name": "Sokha"},
                   "from": {"id": chat_id, "is_bot": False, "first_name": "Sokha"}, "text": text,
                   "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}
        self.updates.append({"update_id": len(self.updates) + 1, "message": message})
        self.arrived.set()

    def to(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params: dict[str, Any] = dict(await request.json()) if request.content_type == "application/json" \
            else dict(await request.post())
        method = request.match_info["method"]
        if method == "getMe":
            return _ok({"id": 999, "is_bot": True, "first_name": "UPR Tracker", "username": "upr_test_bot"})
        if method == "getUpdates":
            return _ok(await self._updates(int(params.get("offset") or 0), float(params.get("timeout") or 0)))
        if method == "sendMessage":
            chat_id, text = int(params["chat_id"]), str(params["text"])
            if self.too_many > 0:
                self.too_many -= 1
                self.refused.append(Sent(chat_id, text, time.monotonic()))
                return web.json_response({"ok": False, "error_code": 429,
                                          "description": "Too Many Requests: retry after 1",
                                          "parameters": {"retry_after": 1}}, status=429)
            self.sent.append(Sent(chat_id, text, time.monotonic()))
            return _ok({"message_id": len(self.sent), "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"}, "text": text})
        return _ok(True)  # deleteWebhook and the like

    async def _updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, 2.0)  # long polling, kept short for the test
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                pass


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiStandIn]:
    stand_in = BotApiStandIn(free_port())
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", stand_in.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stand_in.port).start()
    yield stand_in
    await runner.cleanup()


@pytest.fixture
async def settings(notifier_settings: NotifierSettings, bot_api: BotApiStandIn) -> AsyncIterator[NotifierSettings]:
    """The notifier's settings with Telegram on, talking to the stand-in, its bot polling meanwhile."""
    settings = notifier_settings.model_copy(update={"telegram_bot_token": TOKEN, "telegram_api_url": bot_api.url})
    bot = TelegramBot(settings)
    await bot.start()
    try:
        yield settings
    finally:
        await bot.stop()


async def link(producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, bot_api: BotApiStandIn, actor: Actor,
               subscription_id: str, chat_id: int) -> None:
    """What the Subscriptions page does (a v3 command with the token's hash), then the person
    follows the deep link: Telegram sends the bot /start <token> from their chat."""
    token = new_link_token()
    await send(producer, topics.notifier_commands, signed_event(SubscriptionRequestedV3(
        subscription_id=subscription_id, owner=actor.username, channel=Channel.TELEGRAM,
        event_kinds=["new_evidence"], language="km", telegram_link_hash=link_hash(token)), source="ui", actor=actor))

    async def waiting() -> Any:
        return await mongo_db.notifier_subscriptions.find_one(
            {"_id": subscription_id, "telegram_link_hash": {"$ne": None}})
    await wait_for(waiting, what="subscription waiting for its link")
    bot_api.user_says(chat_id, f"/start {token}")

    async def linked() -> Any:
        return await mongo_db.notifier_subscriptions.find_one(
            {"_id": subscription_id, "status": "active", "telegram_chat_id": chat_id})
    await wait_for(linked, what=f"chat {chat_id} linked")
    await wait_for(lambda: _true(any("Linked" in t for t in bot_api.to(chat_id))), what="the bot's answer")


async def test_telegram_link_one_alert_429_waited_out_stop_and_restart_send_nothing_twice(
    settings: NotifierSettings, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, bot_api: BotApiStandIn,
) -> None:
    notifier = build_app(settings)
    async with notifier:
        await link(producer, topics, mongo_db, bot_api, SOKHA, "sub-tg-sokha", 4242)
        await link(producer, topics, mongo_db, bot_api, DARA, "sub-tg-dara", 5151)
        bot_api.too_many = 1  # Telegram's flood control answers the first alert with 429, retry_after 1
        first = tracker_event(evidence_added("ev-tg-1", title="ច្បាប់ការពារកុមារ"))
        await send(producer, topics.tracker_events, first)
        coalition = evidence_added("ev-tg-2", rec="KHM-4-110.24").model_copy(
            update={"visibility": Visibility.COALITION})
        await send(producer, topics.tracker_events, tracker_event(coalition))

        def alerts(chat: int) -> list[str]:
            return [t for t in bot_api.to(chat) if "detail?id=" in t]
        await wait_for(lambda: _true(len(alerts(4242)) == 2 and len(alerts(5151)) == 1), what="alerts sent")

    # The public item reached both; the coalition-only one only the coalition member (visibility).
    assert [t for t in alerts(4242) if "KHM-4-110.23" in t] and [t for t in alerts(4242) if "KHM-4-110.24" in t]
    assert alerts(5151) == [t for t in alerts(5151) if "KHM-4-110.23" in t]
    public = next(t for t in alerts(4242) if "KHM-4-110.23" in t)
    assert "https://upr.example.org/detail?id=KHM-4-110.23" in public
    assert "ភស្តុតាងថ្មី · New evidence" in public and "ច្បាប់ការពារកុមារ" in public  # Khmer first: her language
    # The 429 was waited out: the refused message went out once, no sooner than retry_after said.
    assert len(bot_api.refused) == 1
    refused = bot_api.refused[0]
    resent = next(s for s in bot_api.sent if (s.chat_id, s.text) == (refused.chat_id, refused.text))
    assert resent.at - refused.at >= 1.0

    # A restart consumes the same events again (a redelivery): nothing is sent twice.
    before = len(bot_api.sent)
    await send(producer, topics.tracker_events, tracker_event(evidence_added("ev-tg-1", title="ច្បាប់ការពារកុមារ")))
    async with build_app(settings):
        bot_api.user_says(4242, "/stop")
        await wait_for(lambda: _true(any("Stopped" in t for t in bot_api.to(4242))), what="/stop answered")
        await send(producer, topics.tracker_events, tracker_event(evidence_added("ev-tg-3")))
        await wait_for(lambda: _true(len(alerts(5151)) == 2), what="the next alert, after the redelivery")
    assert len(alerts(4242)) == 2  # stopped: ev-tg-3 did not come, ev-tg-1 not twice
    assert len(bot_api.sent) == before + 2  # "Stopped" and dara's ev-tg-3, nothing else
    stopped = await mongo_db.notifier_subscriptions.find_one({"_id": "sub-tg-sokha"})
    assert stopped["status"] == "cancelled"
    assert await mongo_db.notifier_deliveries.count_documents({"channel": "telegram", "status": "delivered"}) == 4


async def test_a_persons_link_does_not_link_a_group_and_is_spent_once(
    settings: NotifierSettings, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, bot_api: BotApiStandIn,
) -> None:
    async with build_app(settings):
        token = new_link_token()
        await send(producer, topics.notifier_commands, signed_event(SubscriptionRequestedV3(
            subscription_id="sub-tg-group", owner=SOKHA.username, channel=Channel.TELEGRAM,
            event_kinds=["new_evidence"], telegram_link_hash=link_hash(token)), source="ui", actor=SOKHA))

        async def waiting() -> Any:
            return await mongo_db.notifier_subscriptions.find_one({"_id": "sub-tg-group"})
        await wait_for(waiting, what="subscription stored")
        bot_api.user_says(-1001, f"/start {token}", chat_type="supergroup")
        await wait_for(lambda: _true(bool(bot_api.to(-1001))), what="the bot's refusal")
        assert "groups and channels are linked by an admin" in bot_api.to(-1001)[0]
        bot_api.user_says(4242, f"/start {token}")
        await wait_for(lambda: _true(any("Linked" in t for t in bot_api.to(4242))), what="linked")
        bot_api.user_says(7777, f"/start {token}")  # the same link again, from another chat
        await wait_for(lambda: _true(bool(bot_api.to(7777))), what="the bot's refusal")
        assert "used already" in bot_api.to(7777)[0]
        doc = await mongo_db.notifier_subscriptions.find_one({"_id": "sub-tg-group"})
        assert doc["telegram_chat_id"] == 4242 and doc["audience"] == "coalition"


async def _true(value: bool) -> bool:
    return value
