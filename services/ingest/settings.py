"""Ingest configuration, read from the environment (UPR_*)."""

from __future__ import annotations

from contracts.settings import CommonSettings


class IngestSettings(CommonSettings):
    kafka_username: str = "ingest"  # its own Kafka principal (contracts/kafka_access.py)
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8002
    # Uploads larger than this are refused before parsing (bytes).
    max_upload_bytes: int = 60 * 1024 * 1024
    # How long an upload waits for the tracker's receipts before answering "pending".
    import_wait_s: float = 120.0
