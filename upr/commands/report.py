"""`upr report`: build the mid-term UPR report from MongoDB and write DOCX, Markdown or XLSX."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

from contracts.settings import CommonSettings


class ReportFormat(StrEnum):
    DOCX = "docx"
    MD = "md"
    XLSX = "xlsx"


class ReportLanguageOption(StrEnum):
    EN = "en"
    KM = "km"
    BILINGUAL = "bilingual"


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        cycle: int = typer.Option(..., "--cycle", min=1, max=20, help="UPR cycle, e.g. 4"),
        country: str = typer.Option("KHM", "--country", help="ISO 3166-1 alpha-3 code"),
        as_of: str | None = typer.Option(None, "--as-of", help="cut-off date YYYY-MM-DD (default: today)"),
        output_format: ReportFormat = typer.Option(ReportFormat.DOCX, "--format"),
        out: Path = typer.Option(..., "--out", help="file to write"),
        language: ReportLanguageOption = typer.Option(ReportLanguageOption.EN, "--language"),
        include_coalition_only: bool = typer.Option(
            False,
            "--include-coalition-only",
            help="also cite coalition-only evidence (report for the coalition)",
        ),
        all_recommendations: bool = typer.Option(
            False, "--all-recommendations", help="include recommendations that are not child-related"
        ),
    ) -> None:
        """Write the mid-term report of a cycle as it stood on --as-of."""
        from pymongo import MongoClient

        from services.tracker.reporting import NoRecommendations, render_report

        try:
            cut_off = date.fromisoformat(as_of) if as_of else date.today()
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date like 2026-06-30, not {as_of!r}") from None
        settings = CommonSettings()
        client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=5000)
        try:
            rendered = render_report(
                client[settings.mongodb_db], fmt=output_format.value, country=country.upper(), cycle=cycle,
                as_of=cut_off, language=language.value, include_coalition_only=include_coalition_only,
                all_recommendations=all_recommendations,
            )
        except NoRecommendations:
            typer.echo(f"No recommendations of {country.upper()} cycle {cycle} in the database.", err=True)
            raise typer.Exit(1) from None
        finally:
            client.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(rendered.body)
        built = rendered.report
        total = built.statistics.total
        typer.echo(
            f"Wrote {out} ({output_format.value}): {total.recommendations} recommendations, "
            f"{len(built.citations)} evidence items cited, as of {cut_off.isoformat()}."
        )
