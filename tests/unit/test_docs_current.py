"""The AsyncAPI documents and JSON schemas committed under docs/ match the code."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contracts.events import PAYLOADS, SubscriptionCancelledV1, make_event
from contracts.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GENERATED_DIRS = ("asyncapi", "schemas", "openapi")
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/app.py"))


def _tree(base: Path) -> dict[str, str]:
    return {
        p.relative_to(base).as_posix(): p.read_text(encoding="utf-8")
        for d in GENERATED_DIRS if (base / d).is_dir()
        for p in sorted((base / d).iterdir()) if p.is_file()
    }


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, f"scripts/gen_docs.py failed:\n{result.stdout}\n{result.stderr}"
    return out


@pytest.fixture(scope="module")
def regenerated(generated_dir: Path) -> dict[str, str]:
    return _tree(generated_dir)


def test_committed_docs_match_the_code(regenerated: dict[str, str]) -> None:
    committed = _tree(DOCS)
    missing = sorted(set(regenerated) - set(committed))
    stale = sorted(set(committed) - set(regenerated))
    changed = sorted(rel for rel in set(regenerated) & set(committed) if regenerated[rel] != committed[rel])
    if missing or stale or changed:
        first_diff = ""
        if changed:
            rel = changed[0]
            first_diff = "".join(list(difflib.unified_diff(
                committed[rel].splitlines(keepends=True), regenerated[rel].splitlines(keepends=True),
                f"committed/{rel}", f"generated/{rel}"))[:40])
        pytest.fail(
            "docs/ is out of date: run `make docs` and commit the result.\n"
            f"missing: {missing}\nno longer generated: {stale}\ndifferent: {changed}\n{first_diff}"
        )


def test_output_depends_only_on_the_code_not_on_the_machine(generated_dir: Path) -> None:
    # Another hash seed, other UPR_* settings and a .env-less working directory: not a byte changes.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "UPR_TOPIC_PREFIX": "elsewhere.",
           "UPR_KAFKA_BOOTSTRAP": "kafka.example:9092", "UPR_MONGODB_DB": "other"}
    again = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check", "--out", str(generated_dir)],
        cwd=generated_dir, capture_output=True, text=True, timeout=180, env=env,
    )
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_an_asyncapi_3_document_with_its_topics(regenerated: dict[str, str], service: str) -> None:
    document = yaml.safe_load(regenerated[f"asyncapi/{service}.yaml"])
    assert document["asyncapi"] == "3.0.0"
    assert service in document["info"]["title"]
    addresses = {channel["address"] for channel in document["channels"].values()}
    known_topics = set(Topics().all_with_partitions())
    kafka_addresses = addresses - {"/health"}
    assert kafka_addresses, f"{service} documents no Kafka channel"
    assert kafka_addresses <= known_topics, f"{service} documents topics not in contracts.topics"
    assert "/health" in addresses
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}


def test_every_event_type_and_the_envelope_has_a_json_schema(regenerated: dict[str, str]) -> None:
    schemas = {rel for rel in regenerated if rel.startswith("schemas/")}
    expected = {"schemas/envelope.json"} | {f"schemas/{t}.v{v}.json" for t, v in PAYLOADS}
    assert schemas == expected
    for (event_type, version), model in PAYLOADS.items():
        schema = json.loads(regenerated[f"schemas/{event_type}.v{version}.json"])
        assert schema["x-event-type"] == event_type
        assert schema["x-event-version"] == version
        assert set(schema["properties"]) == set(model.model_json_schema()["properties"])
        assert regenerated[f"schemas/{event_type}.v{version}.json"].endswith("}\n")


def test_json_schemas_are_valid_and_accept_what_the_services_send(regenerated: dict[str, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for rel, text in regenerated.items():
        if rel.startswith("schemas/"):
            jsonschema.Draft202012Validator.check_schema(json.loads(text))
    payload = SubscriptionCancelledV1(subscription_id="sub-1")
    event = make_event(payload, source="notifier").model_dump(mode="json")
    envelope_schema = json.loads(regenerated["schemas/envelope.json"])
    payload_schema = json.loads(regenerated["schemas/subscription.cancelled.v1.json"])
    jsonschema.validate(event, envelope_schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(event["payload"], payload_schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "version": 0}, envelope_schema, cls=jsonschema.Draft202012Validator)
