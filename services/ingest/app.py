"""Ingest service: FastStream wiring only.

    faststream run services.ingest.app:app --host 127.0.0.1 --port 8002

It publishes recommendation.imported events (and evidence.submitted commands from the
bulk evidence template); its HTTP API takes uploads from the UI.
"""

from __future__ import annotations

import logging

from faststream.asgi import make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app

from contracts.asgi import ServiceApp
from contracts.events import EventEnvelope
from contracts.kafka_access import broker_security
from contracts.logs import configure_logging
from contracts.settings import require_trust_secrets
from services.ingest.adapters.http import http_api
from services.ingest.settings import IngestSettings


def build_app(settings: IngestSettings | None = None) -> ServiceApp:
    settings = settings or IngestSettings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    require_trust_secrets(settings)
    topics = settings.topics
    broker = KafkaBroker(settings.kafka_bootstrap, security=broker_security(settings), acks="all",
                         enable_idempotence=True, client_id="upr-ingest", log_level=logging.DEBUG)
    # Declared for the AsyncAPI document; the import adapter publishes in batches itself.
    broker.publisher(topics.recommendations_imported, title="recommendations-imported", schema=EventEnvelope,
                     description="recommendation.imported v1 (v2 for a row with OHCHR's annotation id): one per "
                     "recommendation read from a file "
                     "(key: recommendation_id)")
    broker.publisher(topics.tracker_commands, title="evidence-from-template", schema=EventEnvelope,
                     description="evidence.submitted v2 (people's text sealed for the tracker) from the bulk "
                     "evidence template")

    return ServiceApp(
        broker,
        http_api=http_api(settings), auth_secret=settings.auth_secret,
        asgi_routes=[("/health", make_ping_asgi(broker, timeout=5.0)), ("/metrics", make_asgi_app())],
        specification=AsyncAPI(title="UPR Tracker: ingest", version="1.0.0",
                               description="Turns files of UPR recommendations into events."),
    )


app = build_app()
