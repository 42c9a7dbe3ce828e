"""`upr import FILE` and `upr template recommendations|evidence --out PATH`.

``upr import`` reads a file of recommendations (or the bulk evidence template),
reports every problem by row and column, and - unless ``--dry-run`` - sends the valid
rows to Kafka through the ingest service's publisher and waits until the tracker has
stored them. Exit code: 0 when the file was readable (even with rejected rows),
1 when the whole file was refused, 2 when publishing is not possible.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from services.ingest.domain import (
    FORMATS,
    ParsedEvidence,
    ParsedRow,
    ParseItem,
    RowError,
    detect_format,
    parse_file,
)
from services.ingest.domain.model import FileProblem
from services.ingest.domain.templates import write_evidence_template, write_recommendation_template

PROGRESS_FROM_BYTES = 1024 * 1024
_stderr = Console(stderr=True)


@dataclass
class ImportReport:
    """What ``upr import --json`` prints."""

    format: str | None
    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    pending: int = 0

    @property
    def file_error(self) -> bool:
        return any(e.row is None and not e.warning for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }


class Collector:
    """Counts rows and errors while the valid items stream through to the publisher."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self._rejected_rows: set[int] = set()
        self.items: list[ParsedRow | ParsedEvidence] = []

    def take(self, items: Iterable[ParseItem], on_item: Any = None) -> None:
        for item in items:
            if on_item is not None:
                on_item()
            if isinstance(item, RowError):
                self.report.errors.append(item)
                if item.row is not None and not item.warning and item.row not in self._rejected_rows:
                    self._rejected_rows.add(item.row)
                    self.report.rows += 1
                    self.report.rejected += 1
                continue
            self.report.errors.extend(item.warnings)
            if isinstance(item, ParsedRow):
                self.report.rows += 1 + len(item.merged_rows)
            else:
                self.report.rows += 1
            self.items.append(item)


def _with_progress(items: Iterator[ParseItem], show: bool) -> Iterator[ParseItem]:
    if not show:
        yield from items
        return
    columns = (
        SpinnerColumn(),
        TextColumn("reading rows"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_stderr, transient=True) as progress:
        task = progress.add_task("read", total=None)
        for n, item in enumerate(items, start=1):
            if n % 500 == 0:
                progress.update(task, completed=n)
            yield item


def read_file(
    file: Path,
    *,
    format: str | None = None,
    cycle: int | None = None,
    country: str | None = None,
    import_id: str,
    progress: bool = False,
) -> tuple[ImportReport, Collector]:
    """Parse and validate ``file`` (no Kafka): the report with dry-run counts, and the valid items."""
    fmt: str | None = format
    if fmt is None:
        try:
            fmt = detect_format(file)
        except FileProblem as exc:
            report = ImportReport(format=None, errors=[RowError(None, exc.field, exc.message)])
            return report, Collector(report)
    report = ImportReport(format=fmt)
    collector = Collector(report)
    items = parse_file(file, format=fmt, cycle=cycle, country=country, import_id=import_id)
    collector.take(_with_progress(items, progress))
    report.imported = len(collector.items)
    return report, collector


def _publish(collector: Collector, report: ImportReport, import_id: str) -> int:
    """Send to Kafka and wait for the tracker; returns the exit code."""
    try:
        from services.ingest.adapters.publisher import publish_and_wait
    except ImportError:
        _stderr.print(
            "[red]Publishing is not available (services.ingest.adapters.publisher.publish_and_wait is missing).[/] "
            "Use --dry-run to check the file."
        )
        return 2
    from services.ingest.settings import IngestSettings

    outcome: Any = publish_and_wait(collector.items, IngestSettings(), import_id)
    created = getattr(outcome, "created", None)
    report.imported = int(created if created is not None else getattr(outcome, "imported", 0))
    report.updated = int(getattr(outcome, "updated", 0))
    report.unchanged = int(getattr(outcome, "unchanged", 0))
    report.pending = int(getattr(outcome, "pending", 0))
    extra_rejected = int(getattr(outcome, "rejected", 0))
    report.rejected += extra_rejected
    for error in getattr(outcome, "errors", []) or []:
        if isinstance(error, RowError):
            report.errors.append(error)
        elif isinstance(error, dict):
            report.errors.append(RowError(error.get("row"), error.get("field"), str(error.get("message"))))
        else:
            report.errors.append(RowError(None, None, str(error)))
    return 0


def _print_human(report: ImportReport, file: Path, dry_run: bool) -> None:
    console = Console()
    what = "would import" if dry_run else "imported"
    console.print(
        f"[bold]{file.name}[/] ({report.format or 'unknown format'}): {report.rows} rows, "
        f"{report.imported} {what}, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected} rejected"
    )
    if report.pending:
        console.print(f"[yellow]{report.pending} not yet stored by the tracker (still pending)[/]")
    shown = report.errors[:50]
    for error in shown:
        where = "file" if error.row is None else f"row {error.row}"
        column = f" [{error.field}]" if error.field else ""
        colour = "yellow" if error.warning else "red"
        console.print(f"  [{colour}]{where}{column}[/]: {error.as_dict()['message']}", markup=True, highlight=False)
    if len(report.errors) > len(shown):
        console.print(f"  ... and {len(report.errors) - len(shown)} more (use --json for all)")


class TemplateKind(StrEnum):
    recommendations = "recommendations"
    evidence = "evidence"


def import_file(
    file: Path = typer.Argument(..., help="CSV, XLSX or DOCX file to import", show_default=False),
    format: str | None = typer.Option(None, "--format", help=f"skip detection: one of {', '.join(FORMATS)}"),
    cycle: int | None = typer.Option(None, "--cycle", min=1, max=20, help="UPR cycle (else from the session)"),
    country: str | None = typer.Option(None, "--country", help="ISO3 code of the state under review"),
    dry_run: bool = typer.Option(False, "--dry-run", help="parse and validate only; nothing is sent"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Import UPR recommendations (UPR Info CSV, UHRI CSV/XLSX, OHCHR matrix DOCX, templates)."""
    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"one of: {', '.join(FORMATS)}", param_hint="--format")
    if country is not None and (len(country) != 3 or not country.isalpha()):
        raise typer.BadParameter("an ISO3 code such as KHM", param_hint="--country")
    import_id = f"imp-{uuid.uuid4().hex[:12]}"
    show_progress = not json_output and file.exists() and file.stat().st_size >= PROGRESS_FROM_BYTES
    report, collector = read_file(
        file, format=format, cycle=cycle, country=country, import_id=import_id, progress=show_progress
    )
    code = 1 if report.file_error else 0
    if code == 0 and not dry_run and report.imported:
        code = _publish(collector, report, import_id)
        if code == 2:
            raise typer.Exit(2)
    elif not dry_run:
        report.imported = 0
    if json_output:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_human(report, file, dry_run)
    raise typer.Exit(code)


def template(
    kind: TemplateKind = typer.Argument(..., help="recommendations or evidence"),
    out: Path = typer.Option(..., "--out", help="where to write the .xlsx file"),
) -> None:
    """Write an empty XLSX template (header, an example row, drop-down lists) to fill in."""
    writer = write_recommendation_template if kind is TemplateKind.recommendations else write_evidence_template
    path = writer(out)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.command("template")(template)


app = typer.Typer(add_completion=False, no_args_is_help=True)
register(app)
