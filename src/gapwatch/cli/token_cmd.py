"""`gapwatch token create|list|revoke`: API tokens, shown once, stored hashed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


def _via_server(workspace: Path) -> Any:
    from gapwatch.api.server import local_server
    from gapwatch.client import GapwatchClient

    found = local_server(workspace)
    return None if found is None else GapwatchClient(found[0], found[1], max_retries=3)


@click.group("token")
def command() -> None:
    """Manage API tokens (admin, analyst, member of a silo, ingest key of a source)."""


@command.command("create")
@workspace_option
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "member", "ingest"]))
@click.option("--silo", default=None, help="The member's silo (members only).")
@click.option("--source", default=None, help="The ingest key's source (ingest keys only).")
@click.option("--label", default="", help="A note to recognise the token by.")
@json_option
def create(
    workspace: Path, role: str, silo: str | None, source: str | None, label: str, as_json: bool
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from gapwatch.client import ClientError
    from gapwatch.domain.access import Role
    from gapwatch.service.tokens import TokenError, create_token

    client = _via_server(workspace)
    try:
        if client is not None:
            answer = client.request(
                "POST",
                "/v1/tokens",
                json={
                    k: v
                    for k, v in {"role": role, "silo": silo, "source": source, "label": label}.items()
                    if v is not None
                },
            )
            out = {"token": answer["token"], "id": answer["id"], "role": answer["role"]}
        else:
            from gapwatch.workspace import Workspace

            with Workspace.open(workspace) as ws:
                if silo is not None and silo not in ws.lifecycle.silos:
                    fail(f"--silo {silo!r} is not a silo of this workspace ({', '.join(ws.lifecycle.silos)})")
                with ws.store.transaction() as con:
                    from gapwatch.adapters.service_schema import ensure_service_schema

                    ensure_service_schema(con)
                    plain, record = create_token(con, Role(role), silo=silo, source=source, label=label)
            out = {"token": plain, "id": record.id, "role": record.role.value}
    except (TokenError, ClientError) as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json(out)
    else:
        click.echo(out["token"])
        click.echo(f"token {out['id']} ({role}) created; it is shown only this once", err=True)
