"""Webhook subscriptions per silo (members manage their own silo's only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access, ensure
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import (
    DeliveryListPublic,
    DeliveryPublic,
    KeyFilter,
    WebhookCreate,
    WebhookListPublic,
    WebhookPublic,
)
from gapwatch.domain.access import Role, RouteGroup
from gapwatch.quality import webhooks as svc

router = APIRouter(tags=["webhooks"])


@router.get(
    "/webhooks", operation_id="list_webhooks", response_model=WebhookListPublic, **access(RouteGroup.ACT)
)
def list_webhooks(principal: PrincipalDep, con: ReaderDep, silo: KeyFilter = None) -> WebhookListPublic:
    """Subscriptions; a member sees its own silo's (their URLs may hold secrets)."""
    if principal.role is Role.MEMBER:
        ensure(principal, RouteGroup.ACT, silo=silo or principal.silo)
        silo = principal.silo
    return WebhookListPublic(items=[WebhookPublic.model_validate(h) for h in svc.list_webhooks(con, silo)])


@router.post(
    "/webhooks",
    operation_id="create_webhook",
    response_model=WebhookPublic,
    status_code=201,
    **access(RouteGroup.ACT, 400, 404, 503),
)
def create_webhook(body: WebhookCreate, principal: PrincipalDep, runtime: RuntimeDep) -> WebhookPublic:
    """Subscribe a URL to a silo's alerts, as JSON or as a Slack-compatible message."""
    ensure(principal, RouteGroup.ACT, silo=body.silo)
    if body.silo not in runtime.lifecycle.silos:
        raise ApiError(404, f"no silo {body.silo!r} in this workspace")
    hook = runtime.write(
        lambda w: svc.create_webhook(
            w,
            silo=body.silo,
            url=body.url,
            kind=body.kind,
            min_severity=body.min_severity,
            actor=principal.name,
        )
    )
    return WebhookPublic.model_validate(hook)


@router.get(
    "/webhooks/{webhook_id}",
    operation_id="get_webhook",
    response_model=WebhookPublic,
    **access(RouteGroup.ACT, 404),
)
def get_webhook(webhook_id: str, principal: PrincipalDep, con: ReaderDep) -> WebhookPublic:
    hook = svc.get_webhook(con, webhook_id)
    ensure(principal, RouteGroup.ACT, silo=hook.silo)
    return WebhookPublic.model_validate(hook)


@router.delete(
    "/webhooks/{webhook_id}",
    operation_id="delete_webhook",
    status_code=204,
    response_class=Response,
    **access(RouteGroup.ACT, 404, 503),
)
def delete_webhook(webhook_id: str, principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep) -> Response:
    ensure(principal, RouteGroup.ACT, silo=svc.get_webhook(con, webhook_id).silo)
    runtime.write(lambda w: svc.delete_webhook(w, webhook_id))
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    response_model=DeliveryListPublic,
    **access(RouteGroup.ACT, 404),
)
def list_deliveries(webhook_id: str, principal: PrincipalDep, con: ReaderDep) -> DeliveryListPublic:
    """What happened to each alert sent to this webhook (delivered or failed, with attempts)."""
    ensure(principal, RouteGroup.ACT, silo=svc.get_webhook(con, webhook_id).silo)
    return DeliveryListPublic(
        items=[DeliveryPublic.model_validate(d) for d in svc.list_deliveries(con, webhook_id)]
    )
