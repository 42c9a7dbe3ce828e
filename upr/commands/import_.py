"""`upr import FILE` and `upr template recommendations|evidence --out PATH`.

``upr import`` reads a file of recommendations (or the bulk evidence template),
reports every problem by row and column, and - unless ``--dry-run`` - sends the valid
rows to Kafka through the ingest service's publisher and waits until the tracker has
stored them. Exit code: 0 when the file was readable (even with rejected rows),
1 when the whole file was refused, 2 when publishing is not possible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from contracts.events import Actor, Role
from services.ingest.adapters.files.templates import write_evidence_template, write_recommendation_template
from services.ingest.adapters.profiles import MappingProfiles
from services.ingest.adapters.tracker import tracker_previewer
from services.ingest.domain import FORMATS
from services.ingest.domain.columns import MappingProblem, fields_help, mapped_layout
from services.ingest.domain.model import WARNING_PREFIX
from services.ingest.importer import ImportReport, run_import
from services.ingest.settings import IngestSettings

PROGRESS_FROM_BYTES = 1024 * 1024
# Who asks the tracker for a preview: an operator at the terminal (it holds UPR_AUTH_SECRET).
CLI_ACTOR = Actor(username="upr-cli", role=Role.ADMIN)
_stderr = Console(stderr=True)


def _print_human(report: ImportReport, file: Path, dry_run: bool) -> None:
    console = Console()
    what = "would be created" if report.preview else "would import" if dry_run else "imported"
    updated = "would be updated" if report.preview else "updated"
    if report.profile:
        console.print(f"read with the mapping profile [bold]{report.profile}[/]", highlight=False)
    console.print(
        f"[bold]{file.name}[/] ({report.format or 'unknown format'}): {report.rows} rows, "
        f"{report.imported} {what}, {report.updated} {updated}, {report.unchanged} unchanged, "
        f"{report.rejected} rejected"
    )
    if report.pending:
        console.print(f"[yellow]{report.pending} not yet stored by the tracker (still pending)[/]")
    for item in report.ambiguous[:50]:  # maybe a recommendation already held: a reviewer decides
        candidates = ", ".join(f"{c['recommendation_id']} ({c['score']})" for c in item.get("candidates", []))
        console.print(f"  [yellow]row {item.get('row')}[/]: not stored, may be {candidates}", markup=True,
                      highlight=False)
    for conflict in report.conflicts[:50]:
        said = "; ".join(f"{name}: {values}" for name, values in conflict["fields"].items())
        console.print(f"  [yellow]{conflict['recommendation_id']}[/]: sources disagree ({said})", markup=True,
                      highlight=False)
    shown = report.errors[:50]
    for error in shown:
        where = "file" if error["row"] is None else f"row {error['row']}"
        column = f" [{error['field']}]" if error["field"] else ""
        colour = "yellow" if str(error["message"]).startswith(WARNING_PREFIX) else "red"
        console.print(f"  [{colour}]{where}{column}[/]: {error['message']}", markup=True, highlight=False)
    if len(report.errors) > len(shown):
        console.print(f"  ... and {len(report.errors) - len(shown)} more (use --json for all)")


def _mapping(pairs: list[str], *, country_given: bool) -> dict[str, str]:
    """``["text=Recommendation", ...]`` -> field -> column; a usage error lists the fields."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field, column = field.strip().casefold(), column.strip()
        if not sep or not field or not column:
            raise typer.BadParameter(f"{pair!r} is not FIELD=COLUMN; fields: {fields_help(country_given)}",
                                     param_hint="--map")
        if field in mapping:
            raise typer.BadParameter(f"field {field!r} mapped twice", param_hint="--map")
        mapping[field] = column
    if mapping:
        try:
            mapped_layout(mapping, country_given=country_given)
        except MappingProblem as exc:
            raise typer.BadParameter(str(exc), param_hint="--map") from None
    return mapping


class TemplateKind(StrEnum):
    recommendations = "recommendations"
    evidence = "evidence"


def import_file(
    file: Path = typer.Argument(..., help="CSV, XLSX or DOCX file to import", show_default=False),
    format: str | None = typer.Option(None, "--format", help=f"skip detection: one of {', '.join(FORMATS)}"),
    cycle: int | None = typer.Option(None, "--cycle", min=1, max=20, help="UPR cycle (else from the session)"),
    country: str | None = typer.Option(None, "--country", help="ISO3 code of the state under review"),
    dry_run: bool = typer.Option(False, "--dry-run", help="parse and validate only; nothing is sent"),
    preview: bool = typer.Option(False, "--preview", help="a dry run that also asks the tracker (UPR_TRACKER_URL) "
                                 "what importing would do now: new, updated, unchanged, ambiguous; nothing is sent"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON object"),
    wait: float | None = typer.Option(None, "--wait", min=0, help="seconds to wait for the tracker (default: by size)"),
    map_: list[str] | None = typer.Option(
        None, "--map", metavar="FIELD=COLUMN",
        help="read a CSV/XLSX of any other layout: the column holding FIELD (repeat for each field; "
        f"text, states and position required, country unless --country). Fields: {fields_help()}",
    ),
    profile_name: str | None = typer.Option(
        None, "--profile", metavar="NAME",
        help="read the file with a mapping profile saved on the Import page (without --dry-run, a file "
        "of unknown layout is read with the profile saved for its header, if any)",
    ),
) -> None:
    """Import UPR recommendations (UPR Info CSV, UHRI CSV/XLSX, OHCHR matrix DOCX, templates)."""
    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"one of: {', '.join(FORMATS)}", param_hint="--format")
    if country is not None and (len(country) != 3 or not country.isalpha()):
        raise typer.BadParameter("an ISO3 code such as KHM", param_hint="--country")
    mapping = _mapping(map_ or [], country_given=country is not None)
    if mapping and format is not None:
        raise typer.BadParameter("give either --format or --map, not both", param_hint="--map")
    if profile_name is not None and (mapping or format is not None):
        raise typer.BadParameter("give --profile alone, without --format or --map", param_hint="--profile")
    settings = IngestSettings()
    dry_run = dry_run or preview
    profile, store = None, None
    if profile_name is not None or not dry_run or preview:  # a plain dry run needs no server
        store = MappingProfiles(settings.mongodb_uri, settings.mongodb_db)
    if profile_name is not None and store is not None:
        try:
            profile = store.get(profile_name)
        except PyMongoError as exc:
            _stderr.print(f"[red]Could not reach MongoDB for the profile:[/] {exc}")
            raise typer.Exit(2) from None
        if profile is None:
            names = ", ".join(repr(p["_id"]) for p in store.all()) or "none saved yet (Import page)"
            raise typer.BadParameter(f"no mapping profile named {profile_name!r}; profiles: {names}",
                                     param_hint="--profile")
    previewer = tracker_previewer(settings, settings.tracker_url, CLI_ACTOR) if preview else None
    show_progress = not json_output and file.exists() and file.stat().st_size >= PROGRESS_FROM_BYTES
    with _progress(show_progress, "sending rows" if not dry_run else "reading rows") as advance:
        try:
            report = run_import(file, settings=settings, format=format, cycle=cycle, country=country,
                                dry_run=dry_run, progress=advance, timeout_s=wait, mapping=mapping or None,
                                profile=profile,
                                find_profile=store.for_header if store is not None and profile is None else None,
                                preview=previewer)
        except (OSError, KafkaError, PyMongoError) as exc:
            _stderr.print(f"[red]Could not reach Kafka or MongoDB:[/] {exc}. Start them with `make stack-up`, "
                          "or check the file with --dry-run.")
            raise typer.Exit(2) from None
        finally:
            if store is not None:
                store.close()
    code = 1 if report.file_error else 0
    if json_output:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
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


@contextmanager
def _progress(show: bool, label: str) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn(label), BarColumn(), TextColumn("{task.completed:,}"), TimeElapsedColumn())
    with Progress(*columns, console=_stderr, transient=True) as progress:
        task = progress.add_task(label, total=None)
        yield lambda n: progress.advance(task, n)


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.command("template")(template)


app = typer.Typer(add_completion=False, no_args_is_help=True)
register(app)
