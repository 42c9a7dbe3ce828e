"""`upr dashboard rebuild`: recount the Dashboard's summaries from every stored recommendation.

The tracker keeps the summaries as it stores facts (services/tracker/dashboard.py) and counts
data stored before they existed once by itself; this command does it at once, e.g. after
documents were restored or edited outside the tracker.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import typer
from pymongo import AsyncMongoClient

from contracts.settings import CommonSettings
from services.tracker.adapters.dashboard_store import DashboardStore


async def rebuild(settings: CommonSettings) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True,
                                                                serverSelectionTimeoutMS=5000)
    try:
        return await DashboardStore(client[settings.mongodb_db]).rebuild()
    finally:
        await client.close()


def register(app: typer.Typer) -> None:
    dashboard_app = typer.Typer(help="The Dashboard's summaries.", no_args_is_help=True)
    app.add_typer(dashboard_app, name="dashboard")

    @dashboard_app.command("rebuild")
    def rebuild_command(json_output: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """Recount every (country, cycle) summary and the evidence figures the Dashboard shows."""
        started = time.perf_counter()
        summaries = asyncio.run(rebuild(CommonSettings()))
        seconds = round(time.perf_counter() - started, 2)
        if json_output:
            typer.echo(json.dumps({"summaries": summaries, "seconds": seconds}))
        else:
            typer.echo(f"{summaries} cycle summaries recounted in {seconds} s")
