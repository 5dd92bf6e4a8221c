"""Text signals: the summary every reader sees, and the analysis run (admin) on the writer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.routers.risk import model_of
from gapwatch.api.schemas_insight import TextRunPublic, TextSummaryPublic
from gapwatch.domain.access import RouteGroup
from gapwatch.insight.text_service import analyse_texts, text_summary

router = APIRouter(tags=["text"])


@router.get(
    "/text", operation_id="get_text_summary", response_model=TextSummaryPublic, **access(RouteGroup.READ)
)
def get_text_summary(
    principal: PrincipalDep, con: ReaderDep, silo: Annotated[str | None, Query(max_length=64)] = None
) -> TextSummaryPublic:
    """Analysed comments per moment: how many, the share negative, their emotion and intent labels."""
    return TextSummaryPublic.model_validate(text_summary(con, silo=silo))


@router.post(
    "/text/analysis",
    operation_id="analyse_text",
    response_model=TextRunPublic,
    **access(RouteGroup.ADMIN, 503),
)
def analyse_text(principal: PrincipalDep, runtime: RuntimeDep) -> TextRunPublic:
    """Analyse the comments not analysed yet and add their text streams; detection takes them in."""
    model = model_of(runtime)
    text = getattr(model, "text", None)

    def job() -> TextRunPublic:
        runtime.detect_pending()
        run = analyse_texts(runtime.store, runtime.config, model=text)
        if run.stream_rows:
            runtime.live.rebuild(runtime.store)  # text streams are a batch: detector state from the store
            runtime.alert()
        return TextRunPublic.model_validate(run.as_dict())

    return runtime.writer.call(job, timeout=runtime.settings.write_timeout_seconds)
