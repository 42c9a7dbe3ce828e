"""`upr tag FILE`: suggest child-rights themes for every recommendation of an import file, offline.

No Kafka, no MongoDB: the file is read with the ingest parser and each recommendation is
tagged by the same :class:`~services.tracker.domain.tagging.Tagger` the tracker uses.
``--json`` prints ``[{"recommendation_id", "text", "child_related", "themes": [...]}]`` so
the suggestions can be measured or reviewed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import typer

from contracts.taxonomy import load_taxonomy
from services.ingest.adapters.files import parse_file
from services.ingest.domain import FORMATS, ParsedRow, RowError
from services.tracker.domain.tagging import Tagger


def tag_file(
    path: Path, *, format: str | None = None, cycle: int | None = None, country: str | None = None
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Tag every recommendation of one file; also return the rows that could not be read."""
    tagger = Tagger(load_taxonomy())
    tagged: list[dict[str, Any]] = []
    errors: list[RowError] = []
    import_id = f"tag-{uuid.uuid4().hex[:12]}"
    for item in parse_file(path, format=format, cycle=cycle, country=country, import_id=import_id):
        if isinstance(item, RowError):
            if not item.warning:
                errors.append(item)
            continue
        if not isinstance(item, ParsedRow):
            continue
        rec = item.recommendation
        result = tagger.tag(rec.text, source_themes=rec.source_themes, sdgs=rec.sdgs)
        tagged.append(
            {
                "recommendation_id": rec.recommendation_id,
                "text": rec.text,
                "child_related": result.child_related,
                "themes": [
                    {"id": t.id, "confidence": t.confidence, "explanation": t.explanation} for t in result.themes
                ],
            }
        )
    return tagged, errors


def register(app: typer.Typer) -> None:
    @app.command("tag")
    def tag(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="file to tag"),
        format: str | None = typer.Option(
            None, "--format", help=f"file format (detected when omitted): {', '.join(FORMATS)}"
        ),
        cycle: int | None = typer.Option(None, "--cycle", help="UPR cycle, when the file does not say"),
        country: str | None = typer.Option(None, "--country", help="ISO3 country, when the file does not say"),
        json_output: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Suggest child-rights themes (T01-T19) for the recommendations of FILE, offline."""
        tagged, errors = tag_file(file, format=format, cycle=cycle, country=country)
        if json_output:
            typer.echo(json.dumps(tagged, ensure_ascii=False, indent=2))
        else:
            for rec in tagged:
                themes = ", ".join(f"{t['id']} ({t['confidence']:.2f})" for t in rec["themes"]) or "-"
                mark = "child" if rec["child_related"] else "     "
                typer.echo(f"{rec['recommendation_id']:22} {mark}  {themes}")
            child = sum(1 for r in tagged if r["child_related"])
            typer.echo(f"{len(tagged)} recommendations, {child} child-related", err=True)
        for error in errors:
            where = f"row {error.row}" if error.row is not None else "file"
            typer.echo(f"{where}: {error.message}", err=True)
        if not tagged and any(e.row is None for e in errors):
            raise typer.Exit(1)
