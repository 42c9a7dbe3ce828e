"""`upr`: the command line of UPR Tracker. Each area adds its commands in upr/commands/."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="upr",
    help="UPR Tracker: import, tag and follow up UPR recommendations on child rights.",
    no_args_is_help=True,
    add_completion=False,
)

# Modules under upr/commands that expose register(app).
COMMAND_MODULES = ("topics", "import_", "tag", "report", "users", "token", "dlq", "subscriptions", "keys",
                   "dashboard")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"upr.commands.{name}").register(app)


_register_all()


def main() -> None:
    app()

