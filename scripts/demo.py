"""`make demo`: load the real sample data into a running system and print how to log in.

Loads Cambodia's 1st-cycle recommendations (../shared/data, UN-document fields only),
creates the demo logins, sets the 4th cycle's mid-term report due date, and submits two
real evidence items taken from the background documents in ../shared/seeds.
Idempotent: running it again changes nothing.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from contracts.events import (
    Actor,
    CycleDeadlineSetV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Role,
    Visibility,
    make_event,
)
from contracts.kafka_access import client_options
from contracts.sealed_text import seal, text_public_key
from contracts.settings import CommonSettings
from contracts.signing import command_signer
from services.ingest.importer import run_import
from services.ingest.settings import IngestSettings
from ui.auth import DEMO_USERS, ensure_demo_users
from ui.settings import UISettings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "upr_info_khm_cycle1_2009.csv"
DEMO_ADMIN = Actor(username="admin", role=Role.ADMIN, organisation="UPR Tracker")
DEMO_REVIEWER = Actor(username="reviewer", role=Role.REVIEWER, organisation="CNCC")

# Real facts from ../shared/seeds, cited as their sources give them.
EVIDENCE = [
    dict(
        evidence_id="demo-ocse-nap-launch-2021", theme="T07",
        source_type=EvidenceSourceType.POLICY_PLAN,
        title="Official launch of the National Action Plan to Prevent and Respond to OCSE 2021-2025",
        document_reference="Joint press release, Phnom Penh, 14 July 2021",
        published_on=date(2021, 7, 14), organisation="CNCC",
        quote="The Cambodian National Council for Children (CNCC) in collaboration with the National Committee "
        "for Counter Trafficking-in Persons (NCCT), the Minister of Social Affairs, Veterans and Youth "
        "Rehabilitation (MoSVY) and the Ministry of Interior (MoI) organises the official Launching ceremony "
        "Cambodia's first five-year Action Plan to Prevent and Respond to Online Child Sexual Exploitation",
    ),
    dict(
        evidence_id="demo-ocse-lea-training-2024", theme="T18",
        source_type=EvidenceSourceType.TRAINING,
        title="OCSE skills training for 299 law-enforcement officers",
        document_reference="SCROL advocacy briefing on OCSE in Cambodia, 2024",
        published_on=date(2024, 1, 1), organisation="Terre des Hommes Netherlands",
        quote="This has resulted in OCSE skills training for 299 LEA officers at both national and sub-national "
        "levels, offline awareness meetings on OCSE for 86 LEA officers, and seven child-friendly case "
        "mentoring sessions for 16 LEAs.",
    ),
]


def main() -> int:
    settings = UISettings()
    if not SAMPLE.exists():
        print(f"sample data not found at {SAMPLE}: the shared/ folder must sit beside the repository")
        return 1
    print(f"Importing {SAMPLE.name} ...")
    # Imported as the ingest service would (its Kafka principal may publish imported rows).
    report = run_import(SAMPLE, settings=IngestSettings(), timeout_s=180)
    print(f"  {report.rows} rows: {report.imported} new, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.rejected} rejected, {report.pending} pending")

    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri, tz_aware=True)
    db = client[settings.mongodb_db]
    created = ensure_demo_users(db)
    print(f"  demo logins: {', '.join(created) if created else 'already there'}")
    asyncio.run(_demo_commands(settings, db))
    client.close()

    print()
    print(f"UPR Tracker is running: http://127.0.0.1:{settings.ui_port}")
    print("Demo logins (username / password / role):")
    for username, role, password, _ in DEMO_USERS:
        print(f"  {username:10} {password:18} {role.value}")
    print("Stop everything with: make down")
    return 0


async def _demo_commands(settings: CommonSettings, db: Any) -> None:
    topics = settings.topics
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        deadline = make_event(CycleDeadlineSetV1(country="KHM", cycle=4, milestone="mid_term_report_due",
                                                 due_on=date(2027, 4, 30)), source="demo", actor=DEMO_ADMIN,
                              event_id=_stable_id("deadline-khm-4"))
        signer = command_signer(settings)
        deadline = signer.sign(deadline)
        await producer.send_and_wait(topics.tracker_commands, deadline.to_bytes(), key=b"KHM-4")
        for item in EVIDENCE:
            target = db.recommendations.find_one({"cycle": 1, "themes": item["theme"], "position": "Supported"},
                                                 sort=[("_id", 1)])
            if target is None:
                continue
            fields = {k: v for k, v in item.items() if k != "theme"}
            payload = EvidenceSubmittedV1(recommendation_ids=[target["_id"]], visibility=Visibility.PUBLIC, **fields)
            event = signer.sign(make_event(seal(payload, text_public_key(settings)), source="demo",
                                           actor=DEMO_REVIEWER, event_id=_stable_id(item["evidence_id"])))
            await producer.send_and_wait(topics.tracker_commands, event.to_bytes(), key=target["_id"].encode())
            print(f"  evidence '{payload.title}' -> {target['_id']}")
    finally:
        await producer.stop()


def _stable_id(name: str) -> Any:
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"upr-tracker-demo:{name}")


if __name__ == "__main__":
    sys.exit(main())
