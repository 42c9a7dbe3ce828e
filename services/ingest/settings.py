"""Ingest configuration, read from the environment (UPR_*)."""

from __future__ import annotations

from typing import ClassVar

from contracts.settings import CommonSettings
from services.ingest.adapters.files.archive import ArchiveLimits


class IngestSettings(CommonSettings):
    kafka_username: str = "ingest"  # its own Kafka principal (contracts/kafka_access.py)
    COMMAND_SIGNER: ClassVar[str] = "ingest"  # in dev mode; `upr import` on a host signs with the CLI's key
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8002
    # Uploads larger than this are refused before parsing (bytes).
    max_upload_bytes: int = 60 * 1024 * 1024
    # XLSX/DOCX (zip) files, checked from the zip directory before parsing: the total
    # size the parts declare, how many times a part (> 1 MB) may expand, how many parts.
    max_archive_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_archive_ratio: float = 100.0
    max_archive_parts: int = 10_000
    # How long an upload waits for the tracker's receipts before answering "pending".
    import_wait_s: float = 120.0
    # The tracker's HTTP API: a dry run (the Import page's preview) asks it what an import would do.
    tracker_url: str = "http://127.0.0.1:8001"

    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_uncompressed_bytes=self.max_archive_uncompressed_bytes,
            max_ratio=self.max_archive_ratio,
            max_parts=self.max_archive_parts,
        )
