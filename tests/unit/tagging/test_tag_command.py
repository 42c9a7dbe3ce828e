"""`upr tag FILE --json` tags an import file offline (no Kafka, no MongoDB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from upr.commands.tag import register

RAW = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "upr_info_raw_khm_2009.csv"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("version")
    def version() -> None:  # a second command keeps `tag` a named sub-command
        typer.echo("test")

    return app


@pytest.mark.skipif(not RAW.exists(), reason=f"sample import file not found at {RAW.resolve()}")
def test_tag_json_lists_every_recommendation_with_themes(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["tag", str(RAW), "--json"])
    assert result.exit_code == 0, result.output
    tagged = json.loads(result.stdout)
    assert len(tagged) == 138
    assert set(tagged[0]) == {"recommendation_id", "text", "child_related", "themes"}
    child = [r for r in tagged if r["child_related"]]
    assert 25 <= len(child) <= 45
    trafficking = [r for r in tagged if "trafficking" in r["text"].lower()]
    assert trafficking and all(any(t["id"] == "T18" for t in r["themes"]) for r in trafficking)
    for rec in child:
        for theme in rec["themes"]:
            assert 0 <= theme["confidence"] <= 1 and theme["explanation"]


def test_tag_prints_a_summary_without_json(app: typer.Typer, tmp_path: Path) -> None:
    csv_file = tmp_path / "recs.csv"
    csv_file.write_text(
        "To,To-Rgrp,To-Org,Text,From,From-Rgrp,From-Org,Response,Action,Issue,Session\n"
        "Cambodia,Asia,,Prohibit corporal punishment of children in all settings,Norway,WEOG,,Accepted,5,,6\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["tag", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "T06" in result.stdout
