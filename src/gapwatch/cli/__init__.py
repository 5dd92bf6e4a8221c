"""The `gapwatch` command line: a thin face over the library.

Sub-commands live in their own modules and are imported only when run, so that
`gapwatch chart` answers in a fraction of a second (no DuckDB, no pandas at start).
Usage errors exit 2 with one line on stderr (DESIGN.md, "Command-line output").
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

# name -> (module under gapwatch.cli, one-line help); kept here so `gapwatch --help`
# lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init_cmd", "Create a workspace: gapwatch.yaml and an embedded DuckDB store."),
    "check": ("check_cmd", "Validate a workspace's gapwatch.yaml and report every problem."),
    "ingest": ("ingest_cmd", "Ingest an experience file (CSV, CSV.gz, Parquet, JSONL) from a source."),
    "rejected": ("rejected_cmd", "List rejected rows: row number, reason and the refused value."),
    "simulate": ("simulate_cmd", "Write a simulated world: source files, survey answers and truth.json."),
    "detect": ("detect_cmd", "Aggregate streams per period and run the detectors; store signals."),
    "demo": ("demo_cmd", "Simulate, ingest, detect and report on a fresh demo workspace."),
    "chart": ("chart_cmd", "Compute one control chart from a CSV file (the SPC contract)."),
    "arl": ("arl_cmd", "Estimate a chart's average run length by Monte-Carlo."),
    "serve": ("serve_cmd", "Serve a workspace's HTTP API (/v1, OpenAPI); the server owns the workspace."),
    "token": ("token_cmd", "Create API tokens (printed once, stored hashed)."),
    "replay": ("replay_cmd", "Replay a simulated world into a live server on the event-time clock."),
    "drivers": (
        "drivers_cmd",
        "Key drivers of an outcome with bootstrap intervals (a survey table or a workspace).",
    ),
    "perspectives": (
        "perspectives_cmd",
        "Perception surveys: customers', employees' and leaders' views and their gaps.",
    ),
    "text": ("text_cmd", "Sentiment, emotions and intent in comments; text streams that chart and alert."),
    "predict": (
        "predict_cmd",
        "Predict an outcome: a model from one table judged on another, or a workspace's risk.",
    ),
    "report": ("report_cmd", "Write a workspace's charts as one self-contained HTML report."),
    "erase": (
        "erase_cmd",
        "Erase customers for good: in the store and, with --lake, in a Parquet lake.",
    ),
    "export": ("export_cmd", "Export experiences, signals, alerts, cases or streams as Parquet or CSV."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(f"gapwatch.cli.{entry[0]}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gapwatch.cli.{entry[0]}":
                return _not_built(cmd_name, entry[1])
            raise
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _not_built(name: str, help_text: str) -> click.Command:
    def run() -> None:
        raise click.UsageError(f"`gapwatch {name}` is not available in this build")

    return click.Command(name, callback=run, help=help_text)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gapwatch")
def cli() -> None:
    """gapwatch: statistical quality control for the customer lifecycle."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; usage errors print one line on stderr and exit 2."""
    from gapwatch.lockfile import WorkspaceBusy  # not the workspace: that would load the store

    # Stores, logs and reports hold personal data: every file the CLI creates is its user's
    # alone (0600; folders 0700), including DuckDB's write-ahead log, which DuckDB recreates
    # after each checkpoint with the process umask.
    os.umask(os.umask(0o077) | 0o077)

    try:
        return cli.main(args=argv, standalone_mode=False)
    except WorkspaceBusy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.exceptions.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
