"""Sealed commands (contracts/sealed_text.py) behave in the tracker's inbox like their version 1."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.events import Actor, Role, ThemeCorrectionRequestedV1, make_event
from contracts.sealed_text import TextPublicKey, dev_text_private_key, seal
from contracts.signing import CommandKeys
from services.tracker import handlers
from services.tracker.inbox import Received, TrackerInbox

CSO = Actor(username="sophea", role=Role.CSO_MEMBER, organisation="CRC Cambodia")


class Repo:
    async def processed(self, message_id: str) -> None:
        return None

    async def mark_processed(self, *args: Any, **kwargs: Any) -> None:
        return None


async def _examples() -> list[dict[str, Any]]:
    return []


async def test_a_sealed_tag_correction_refreshes_the_taggers_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    async def corrected(envelope: Any, payload: Any, deps: Any) -> handlers.Outcome:
        return handlers.Outcome("updated")

    monkeypatch.setitem(handlers.HANDLERS, "themes.correction_requested", corrected)
    refreshed: list[bool] = []

    async def publish(event: dict[str, Any], key: bytes | None) -> Any:
        raise AssertionError("nothing to publish")

    async def dead_letter(record: Any, reason: str, envelope: Any) -> None:
        raise AssertionError(reason)

    inbox = TrackerInbox(handlers.Deps(Repo(), None, _examples), publish, dead_letter,  # type: ignore[arg-type]
                         command_keys=CommandKeys({}), on_correction=lambda: refreshed.append(True))
    sealed = seal(ThemeCorrectionRequestedV1(recommendation_id="KHM-4-110.23", add=["T06"], comment="ច្បាប់ថ្មី"),
                  TextPublicKey("dev", dev_text_private_key().public_key()))
    envelope = make_event(sealed, source="ui", actor=CSO)
    await inbox.handle_one(Received(None, envelope, sealed))
    assert refreshed == [True]
