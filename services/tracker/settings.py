"""Tracker configuration, read from the environment (UPR_*)."""

from __future__ import annotations

import os
import socket
from typing import ClassVar

from pydantic import Field

from contracts.settings import CommonSettings
from contracts.topics import TRACKER_GROUP


class TrackerSettings(CommonSettings):
    kafka_username: str = "tracker"  # its own Kafka principal (contracts/kafka_access.py)
    # The private key(s) sealed command text is wrapped to, ``id:base64[,id:base64]``, the first the
    # current one (contracts/sealed_text.py); keep a retired one listed until its commands are applied.
    text_kek: str = ""
    COMMAND_SIGNER: ClassVar[str] = ""
    VERIFIES_COMMANDS: ClassVar[bool] = True
    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8001
    # How long confirmed examples are cached before the tagger reloads them.
    examples_refresh_s: float = 30.0
    # Consumer group: every member shares the partitions; a new group replays the topics.
    consumer_group: str = TRACKER_GROUP
    # A command about a recommendation that is not imported waits this long, then goes to
    # the dead-letter topic as "unknown recommendation" (long enough for a replay to catch up).
    park_timeout_s: float = 600.0
    # Records consumed per batch, and how long a poll waits for the first one (ms). A batch is
    # stored with one read and one bulk write per collection, then committed.
    batch_max_records: int = 500
    batch_timeout_ms: int = 100
    # How long the producer waits to fill a batch of events (ms).
    publish_linger_ms: int = 5
    # Receipts kept in memory after they are stored, for `POST /receipts` and redeliveries
    # (adapters/recent_receipts.py; the pipeline bench peaked at 554 MB with 100,000); 0 reads every one back.
    recent_receipts: int = Field(default=20_000, ge=0)
    # The Dashboard's summaries (services/tracker/projections.py): recounted at most this often (s),
    # and taking at most this share of the time while events keep arriving (a bulk import).
    dashboard_min_interval_s: float = 1.0
    dashboard_max_share: float = Field(default=0.1, gt=0.0, le=1.0)
    # The published projection (services/tracker/projections.py): while events keep arriving,
    # its recounts take at most this share of the time, as the Dashboard's: a recount reads the whole
    # cycle (about 2.4 s at 10,000 recommendations), and it shares the database with the import.
    public_max_share: float = Field(default=0.1, gt=0.0, le=1.0)
    # Requests per API key (anonymous callers: per client address) to the read API, in `limits` notation.
    api_rate_limit: str = "120/minute"
    # Names this process in receipts, so an operator (and the scale-out test) sees who did what.
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
