"""The lifecycle map (everyone who reads) and the workspace configuration (admin)."""

from __future__ import annotations

from fastapi import APIRouter

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access
from gapwatch.api.schemas import LifecyclePublic, MomentPublic, StagePublic
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.access import RouteGroup

router = APIRouter(tags=["lifecycle"])


@router.get(
    "/lifecycle", operation_id="get_lifecycle", response_model=LifecyclePublic, **access(RouteGroup.READ)
)
def get_lifecycle(principal: PrincipalDep, runtime: RuntimeDep) -> LifecyclePublic:
    """Stages in order, each with its owning silo and moments of truth."""
    lc = runtime.lifecycle
    stages = [
        StagePublic(
            stage=stage,
            silo=lc.stage_silo[stage],
            moments=[
                MomentPublic(key=m.key, name=m.name, stage=m.stage, silo=m.silo, metrics=list(m.metrics))
                for m in lc.moments_in(stage)
            ],
        )
        for stage in lc.stages
    ]
    return LifecyclePublic(silos=list(lc.silos), segments=list(lc.segments), stages=stages)


@router.get(
    "/config",
    operation_id="get_config",
    response_model=WorkspaceConfig,
    response_model_by_alias=True,
    **access(RouteGroup.ADMIN),
)
def get_config(principal: PrincipalDep, runtime: RuntimeDep) -> WorkspaceConfig:
    """The workspace configuration in force (gapwatch.yaml, validated)."""
    return runtime.config
