"""`gapwatch erase`: a customer's personal data erased for good, in the store and in a lake."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from gapwatch.cli.common import (
    emit_json,
    engine_options,
    fail,
    json_option,
    open_cli_engine,
    server_client,
    workspace_option,
)


@click.command("erase")
@click.argument("customer_ids", nargs=-1)
@engine_options
@workspace_option
@json_option
def command(
    customer_ids: tuple[str, ...],
    engine: str,
    lake: Path | None,
    spark_master: str,
    workspace: Path,
    as_json: bool,
) -> None:
    """Erase CUSTOMER_IDS for good, as DELETE /v1/customers/{id} does: identities, rejects and text
    go, experiences stay for the statistics without a link to the person, later events for them
    are refused on every path, and the store's file is rewritten.

    With --lake, every customer the workspace has ever erased (its suppression list) is also erased
    from that Parquet lake, on --engine: their rows lose key, event id, text and attributes, their
    rejects are deleted, and text of others that spells one of CUSTOMER_IDS is removed. Only the
    partitions that hold such a row are rewritten. Run it after each erasure, or on a schedule."""
    if not customer_ids and lake is None:
        fail("name the customer ids to erase, or --lake DIR to apply the workspace's erasures to a lake")
    if any(not c.strip() or len(c) > 256 for c in customer_ids):
        fail("a customer id is 1 to 256 characters, not blank")
    client = server_client(workspace)
    if client is not None and lake is not None:
        fail(
            "a server owns this workspace: erase through it (DELETE /v1/customers/{id} or without "
            "--lake), then run `gapwatch erase --lake` once it is stopped"
        )
    done: list[dict[str, Any]] = []
    if client is not None:
        with client:
            done = [client.request("DELETE", f"/v1/customers/{quote(c, safe='')}") for c in customer_ids]
        _report({"customers": done, "lake": None}, as_json)
        return
    report = _in_workspace(workspace, customer_ids, engine, lake, spark_master)
    _report(report, as_json)


def _in_workspace(
    workspace: Path, customer_ids: tuple[str, ...], engine: str, lake: Path | None, master: str
) -> dict[str, Any]:
    from gapwatch.config import ConfigError
    from gapwatch.customers.erasure import forget_customer
    from gapwatch.domain.bounds import id_cases
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        raise  # (fail exits)
    with ws:
        cases = id_cases(ws.config)
        done = [dataclasses.asdict(forget_customer(ws.store, c, "cli", cases)) for c in customer_ids]
        keys = [str(k) for k in ws.store.table("erased").column("customer_key").to_pylist()]
        timezone = ws.config.workspace.timezone
    report: dict[str, Any] = {"customers": done, "lake": None}
    if lake is not None:
        from gapwatch.ingest.lake_erasure import erase_lake

        if not lake.is_dir():
            fail(f"{lake}: no such lake folder")
        runner = open_cli_engine(engine, lake, master, timezone)
        try:
            report["lake"] = erase_lake(runner, lake, keys, customer_ids).as_dict()
        finally:
            runner.close()
    return report


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    for c in report["customers"]:
        if not c.get("compacted", True):  # (through a server the answer has no such field)
            click.echo(
                f"{c['customer_id']}: not in the store; put on the suppression list "
                "(later events refused, a lake's rows found by its key)"
            )
            continue
        click.echo(
            f"erased {c['customer_id']}: {c['identities']} identities, {c['experiences_unlinked']} "
            f"experiences and {c['outcomes_unlinked']} outcomes unlinked, {c['rejected']} rejects deleted"
        )
    lake = report["lake"]
    if lake is not None:
        parts = ", ".join(f"{t} {n}" for t, n in lake["partitions_rewritten"].items()) or "none"
        unlinked = sum(lake["rows_unlinked"].values())
        click.echo(
            f"lake: {lake['keys']} erased keys applied; {unlinked} rows unlinked, "
            f"{sum(lake['rows_scrubbed'].values())} texts of others removed, {lake['rejects_deleted']} "
            f"rejects deleted; partitions rewritten: {parts}"
        )
