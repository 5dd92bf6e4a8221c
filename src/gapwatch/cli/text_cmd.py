"""`gapwatch text`: emotions and intent in free-text comments.

``gapwatch text analyse`` gives every new comment its language, sentiment, emotion and intent
labels and adds the text streams that detection watches; ``gapwatch text show`` summarises them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


def _open(workspace: Path, read_only: bool = False) -> Any:
    from gapwatch.workspace import Workspace

    try:
        return Workspace.open(workspace, read_only=read_only)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        raise AssertionError from exc


@click.group("text")
def command() -> None:
    """Sentiment, emotions and intent in comments; text streams charted like any gap."""


@command.command("analyse")
@workspace_option
@json_option
def analyse(workspace: Path, as_json: bool) -> None:
    """Analyse the comments not analysed yet (language, sentiment, emotions, intents, learned score)
    and add the text streams (comment_negative, comment_<intent>) that `gapwatch detect` watches."""
    from gapwatch.insight.models import load_text_model
    from gapwatch.insight.text_service import analyse_texts

    ws = _open(workspace)
    with ws:
        run = analyse_texts(ws.store, ws.config, model=load_text_model(ws.root))
    if as_json:
        emit_json(run.as_dict())
        return
    click.echo(f"{run.comments:,} comments analysed; {run.stream_rows:,} text-stream experiences added")
    click.echo("languages: " + ", ".join(f"{k} {v:,}" for k, v in run.languages.most_common()))
    click.echo("sentiment: " + ", ".join(f"{k} {v:,}" for k, v in run.sentiments.most_common()))
    if run.labels:
        click.echo("labels: " + ", ".join(f"{k} {v:,}" for k, v in run.labels.most_common()))


@command.command("show")
@click.option("--silo", default=None, help="Only this silo's moments.")
@workspace_option
@json_option
def show(silo: str | None, workspace: Path, as_json: bool) -> None:
    """Analysed comments per moment: how many, the share negative, the commonest labels."""
    from rich.console import Console
    from rich.table import Table

    from gapwatch.insight.text_service import text_summary

    ws = _open(workspace, read_only=True)
    with ws:
        summary = text_summary(ws.store.reader(), silo=silo)
    if as_json:
        emit_json(summary)
        return
    table = Table(title=f"Comments ({summary['comments']:,}; languages {summary.get('languages', {})})")
    for col in ("moment", "silo", "comments", "negative", "labels"):
        table.add_column(col, justify="right" if col in ("comments", "negative") else "left")
    for m in summary["moments"]:
        neg = "–" if m["negative_share"] is None else f"{m['negative_share']:.0%}"
        labels = ", ".join(f"{k} {v}" for k, v in list(m["labels"].items())[:5])
        table.add_row(m["moment"], m["silo"], f"{m['comments']:,}", neg, labels)
    Console().print(table)
