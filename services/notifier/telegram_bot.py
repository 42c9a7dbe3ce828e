"""The notifier's Telegram bot: reads its updates (long polling, ``getUpdates``) and answers
``/start <token>`` (link this chat to the subscription that made the token) and ``/stop``
(cancel every subscription sending to this chat). Sending alerts is the notifier's dispatcher's
work; this process only links and unlinks chats, so it runs alone (one poller per bot token):

    python -m services.notifier.telegram_bot

``scripts/services.sh`` starts it only when ``UPR_TELEGRAM_BOT_TOKEN`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from contracts.logs import configure_logging
from services.notifier import handlers
from services.notifier.adapters.mongo import MongoNotifierRepository
from services.notifier.adapters.telegram import bot_api_base
from services.notifier.adapters.tokens import InvalidToken
from services.notifier.settings import NotifierSettings

log = logging.getLogger("upr.notifier.telegram")

LINKED = ("Linked: UPR Tracker alerts will come to this chat. Send /stop to end them.\n"
          "បានភ្ជាប់: ការជូនដំណឹងរបស់ UPR Tracker នឹងមកកាន់ការជជែកនេះ។ ផ្ញើ /stop ដើម្បីបញ្ឈប់។")
STOPPED = ("Stopped: no more UPR Tracker alerts in this chat ({count} subscription(s) ended).\n"
           "បានបញ្ឈប់: លែងមានការជូនដំណឹងរបស់ UPR Tracker ក្នុងការជជែកនេះទៀតហើយ។")
HELLO = ("Open the Subscriptions page of UPR Tracker and follow its Telegram link to get alerts here.\n"
         "សូមបើកទំព័រការជាវក្នុង UPR Tracker ហើយចុចតំណ Telegram ដើម្បីទទួលការជូនដំណឹងនៅទីនេះ។")
# Commands typed in a private chat or a group, or posted in a channel the bot administers.
COMMANDS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
HEARTBEAT_S = 60.0


class TelegramBot:
    def __init__(self, settings: NotifierSettings, clock: Callable[[], datetime] | None = None) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("UPR_TELEGRAM_BOT_TOKEN is not set: the Telegram channel is off")
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
        self.app = (Application.builder().token(settings.telegram_bot_token)
                    .base_url(bot_api_base(settings.telegram_api_url)).build())
        self.app.add_handler(CommandHandler("start", self.on_start, filters=COMMANDS))
        self.app.add_handler(CommandHandler("stop", self.on_stop, filters=COMMANDS))
        self._heartbeat: asyncio.Task[None] | None = None

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        if not context.args:
            await context.bot.send_message(chat.id, HELLO)
            return
        try:
            subscription_id = await handlers.telegram_start(self.repo, context.args[0], chat.id, chat.type,
                                                            self.clock())
        except InvalidToken as exc:
            await context.bot.send_message(chat.id, f"{exc}\n{HELLO}")
            return
        log.info("chat %s (%s) linked to subscription %s", chat.id, chat.type, subscription_id)
        await context.bot.send_message(chat.id, LINKED)

    async def on_stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        count = await handlers.telegram_stop(self.repo, chat.id, self.clock())
        log.info("chat %s stopped %d subscription(s)", chat.id, count)
        await context.bot.send_message(chat.id, STOPPED.format(count=count))

    async def start(self) -> None:
        await self.app.initialize()  # getMe: the bot's username, for the UI's links
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0.0, timeout=10)
        self._heartbeat = asyncio.create_task(self._beat(), name="telegram-heartbeat")

    async def _beat(self) -> None:
        while True:
            try:
                await self.repo.set_telegram_bot({"username": self.app.bot.username, "seen_at": self.clock()})
            except Exception as exc:  # the UI shows the channel as off until the next beat
                log.warning("could not record the bot's heartbeat: %r", exc)
            await asyncio.sleep(HEARTBEAT_S)

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self.repo.close()


async def run(settings: NotifierSettings) -> None:
    bot = TelegramBot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bot.start()
    log.info("Telegram bot @%s polling %s", bot.app.bot.username, settings.telegram_api_url)
    try:
        await stop.wait()
    finally:
        await bot.stop()


def main() -> None:
    settings = NotifierSettings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
