"""`gapwatch token create|list|revoke`: API tokens, shown once, stored hashed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, server_client, workspace_option


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
    from gapwatch.auth.tokens import TokenError, create_token
    from gapwatch.client.http import ClientError
    from gapwatch.domain.access import Role

    client = server_client(workspace)
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


def _direct(workspace: Path, job: Any) -> Any:
    """Run ``job(con)`` on the workspace's store (no server owns it now)."""
    from gapwatch.adapters.service_schema import ensure_service_schema
    from gapwatch.workspace import Workspace

    with Workspace.open(workspace) as ws, ws.store.transaction() as con:
        ensure_service_schema(con)
        return job(con)


def _public(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "role": record.role.value,
        "silo": record.silo,
        "source": record.source,
        "label": record.label,
        "created_at": record.created_at.isoformat(),
        "revoked_at": None if record.revoked_at is None else record.revoked_at.isoformat(),
    }


def _show(token: dict[str, Any]) -> str:
    scope = token["silo"] or token["source"] or ""
    state = "revoked " + str(token["revoked_at"])[:19] if token["revoked_at"] else "active"
    return f"{token['id']:<14} {token['role']:<8} {scope:<12} {state:<28} {token['label']}"


@command.command("list")
@workspace_option
@json_option
def list_(workspace: Path, as_json: bool) -> None:
    """List tokens: id, role, scope, active or revoked, label (never the token itself)."""
    from gapwatch.auth.tokens import list_tokens
    from gapwatch.client.http import ClientError

    client = server_client(workspace)
    try:
        if client is not None:
            items = client.request("GET", "/v1/tokens")["items"]
        else:
            items = [_public(r) for r in _direct(workspace, list_tokens)]
    except ClientError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json({"items": items})
        return
    click.echo(f"{'id':<14} {'role':<8} {'scope':<12} {'state':<28} label")
    for token in items:
        click.echo(_show(token))


@command.command("revoke")
@workspace_option
@click.argument("token_id")
@json_option
def revoke(workspace: Path, token_id: str, as_json: bool) -> None:
    """Revoke the token TOKEN_ID at once (idempotent); requests with it then get 401."""
    from gapwatch.auth.tokens import revoke_token
    from gapwatch.client.http import ClientError

    client = server_client(workspace)
    try:
        if client is not None:
            token = client.request("DELETE", f"/v1/tokens/{token_id}")
        else:
            record = _direct(workspace, lambda con: revoke_token(con, token_id))
            if record is None:
                fail(f"no token {token_id!r} in this workspace (see `gapwatch token list`)")
                return
            token = _public(record)
    except ClientError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json(token)
    else:
        click.echo(f"token {token['id']} ({token['role']}) revoked at {str(token['revoked_at'])[:19]}")
