"""`upr keys new` prints keys that work together: what a producer signs and seals with, the
tracker and the notifier verify and open with."""

from __future__ import annotations

from typer.testing import CliRunner

from contracts.events import Actor, AssessmentSubmittedV1, Assessor, ImplementationStatus, Role, make_event
from contracts.sealed_text import open_sealed, parse_text_keks, seal, sealed_box, text_public_key, unwrap
from contracts.settings import CommonSettings
from contracts.signing import command_keys, command_signer
from upr.cli import app


def test_the_printed_keys_sign_verify_seal_and_open_in_production_mode() -> None:
    result = CliRunner().invoke(app, ["keys", "new", "--text-key-id", "k2026"])
    assert result.exit_code == 0, result.output
    env = dict(line.split("=", 1) for line in result.output.splitlines())
    ui = CommonSettings(env="production", command_signing_key=env["UPR_COMMAND_SIGNING_KEY_UI"],
                        text_public_key=env["UPR_TEXT_PUBLIC_KEY"])
    tracker = CommonSettings(env="production", command_public_keys=env["UPR_COMMAND_PUBLIC_KEYS"])
    assessment = AssessmentSubmittedV1(assessment_id="as-000001", recommendation_id="KHM-4-110.23",
                                       assessor=Assessor.CSO, status=ImplementationStatus.IN_PROGRESS,
                                       rationale="អនុវត្តបានមួយផ្នែក")
    sealed = seal(assessment, text_public_key(ui))
    envelope = command_signer(ui).sign(make_event(sealed, source="ui", actor=Actor(username="d", role=Role.CSO_MEMBER)))
    assert command_keys(tracker).verify(envelope) == "ui"
    assert open_sealed(sealed, unwrap(sealed_box(sealed), parse_text_keks(env["UPR_TEXT_KEK"]))) == assessment
    assert env["UPR_COMMAND_SIGNING_KEY_INGEST"].startswith("ingest:")
    assert env["UPR_COMMAND_SIGNING_KEY_CLI"] != env["UPR_COMMAND_SIGNING_KEY_UI"]
