"""`upr topics create|list`: create the Kafka topics with the partition counts the design needs."""

from __future__ import annotations

import asyncio
import json

import typer

from contracts.kafka_access import KafkaAdminSettings, ensure_topics


def register(app: typer.Typer) -> None:
    topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
    app.add_typer(topics_app, name="topics")

    @topics_app.command("create")
    def create(json_output: bool = typer.Option(False, "--json")) -> None:
        """Create every missing topic, and each component's Kafka login and ACLs (idempotent; as admin)."""
        settings = KafkaAdminSettings()
        created = asyncio.run(ensure_topics(settings, settings.topics))
        wanted = settings.topics.all_with_partitions()
        if json_output:
            typer.echo(json.dumps({"created": created, "topics": wanted}))
        else:
            for name, partitions in wanted.items():
                mark = "created" if name in created else "exists"
                typer.echo(f"{name:45} {partitions} partition(s)  {mark}")
