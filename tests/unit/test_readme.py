"""The README is a promise to operators: every setting a service reads is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from contracts.kafka_access import KafkaAdminSettings
from contracts.settings import CommonSettings
from services.ingest.settings import IngestSettings
from services.notifier.settings import NotifierSettings
from services.tracker.settings import TrackerSettings
from ui.settings import UISettings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("settings", [CommonSettings, KafkaAdminSettings, TrackerSettings, IngestSettings,
                                      NotifierSettings, UISettings])
def test_every_setting_is_in_the_readme_configuration_table(settings: type[BaseSettings]) -> None:
    documented = set(re.findall(r"`(UPR_[A-Z0-9_]+)`", README.read_text(encoding="utf-8")))
    missing = sorted(f"UPR_{name.upper()}" for name in settings.model_fields if f"UPR_{name.upper()}" not in documented)
    assert not missing, f"add to the README configuration table: {missing}"


def test_the_readme_gives_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
