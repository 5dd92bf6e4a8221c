"""What every section model of `gapwatch.yaml` shares: strictness and the key pattern."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in the YAML must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
