"""Who may do what (DESIGN.md, "Who may do what"), kept as data.

Every HTTP route names one :class:`RouteGroup`; :data:`POLICY` says, for each group and
role, what scope of access the role has. Anything not listed is denied. The table is
plain data so that the access-matrix test can read it and compare every route x role
against what the server actually does.

Examples
--------
>>> member = Principal(token_id="t1", role=Role.MEMBER, silo="sales")
>>> decide(member, RouteGroup.READ).allowed
True
>>> decide(member, RouteGroup.ACT, silo="delivery").allowed
False
>>> decide(member, RouteGroup.ACT, silo="sales").allowed
True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Token roles."""

    ADMIN = "admin"
    ANALYST = "analyst"
    MEMBER = "member"
    INGEST = "ingest"
    METRICS = "metrics"  # a Prometheus scraper: GET /metrics only


class RouteGroup(StrEnum):
    """Route groups of the permission table."""

    INGEST = "ingest"  # POST /v1/events, /collect/...
    READ = "read"  # streams, charts, alerts, cases, customers (cross-silo view)
    ACT = "act"  # act on alerts/cases, manage webhooks
    PRIVACY = "privacy"  # export / erase a customer
    ADMIN = "admin"  # tokens, expectations, configuration
    METRICS = "metrics"  # GET /metrics (Prometheus)


class Scope(StrEnum):
    """How far a role's access reaches within a group."""

    ALL = "all"
    OWN_SILO = "own_silo"  # the object's silo must be the member's silo
    OWN_SOURCE = "own_source"  # the events' source must be the key's source


POLICY: dict[RouteGroup, dict[Role, Scope]] = {
    RouteGroup.INGEST: {Role.ADMIN: Scope.ALL, Role.INGEST: Scope.OWN_SOURCE},
    RouteGroup.READ: {Role.ADMIN: Scope.ALL, Role.ANALYST: Scope.ALL, Role.MEMBER: Scope.ALL},
    RouteGroup.ACT: {Role.ADMIN: Scope.ALL, Role.ANALYST: Scope.ALL, Role.MEMBER: Scope.OWN_SILO},
    RouteGroup.PRIVACY: {Role.ADMIN: Scope.ALL},
    RouteGroup.ADMIN: {Role.ADMIN: Scope.ALL},
    RouteGroup.METRICS: {Role.ADMIN: Scope.ALL, Role.METRICS: Scope.ALL},
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The bearer of a valid token."""

    token_id: str
    role: Role
    silo: str | None = None
    source: str | None = None

    @property
    def name(self) -> str:
        """How the audit trail names this principal."""
        scope = self.silo or self.source
        return f"{self.role.value}:{self.token_id}" + (f"@{scope}" if scope else "")


@dataclass(frozen=True, slots=True)
class Decision:
    """An access decision with the reason a denial gives."""

    allowed: bool
    reason: str = ""


def decide(
    principal: Principal, group: RouteGroup, *, silo: str | None = None, source: str | None = None
) -> Decision:
    """Decide whether ``principal`` may use a route of ``group`` on an object.

    Parameters
    ----------
    principal
        Who asks.
    group
        The route group of the route being called.
    silo
        The silo owning the object acted on (needed for :attr:`Scope.OWN_SILO`).
    source
        The source of the events posted (needed for :attr:`Scope.OWN_SOURCE`).
    """
    scope = POLICY.get(group, {}).get(principal.role)
    if scope is None:
        return Decision(False, f"role {principal.role.value!r} may not use {group.value} routes")
    if scope is Scope.OWN_SILO and silo is not None and silo != principal.silo:
        return Decision(False, f"a member of silo {principal.silo!r} may not act on silo {silo!r}")
    if scope is Scope.OWN_SOURCE and source is not None and source != principal.source:
        return Decision(False, f"this ingest key posts for source {principal.source!r} only, not {source!r}")
    return Decision(True)
