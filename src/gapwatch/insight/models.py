"""Where a workspace keeps its trained models: ``models/`` beside ``gapwatch.yaml``.

Models are pickled (scikit-learn objects) with mode 0600, like the workspace secret: the folder
is as trusted as the workspace's configuration, and nothing else writes there. A model file
carries the model format and the scikit-learn version that wrote it; one from another is refused
rather than half-trusted (retrain).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import sklearn

__all__ = ["MODELS", "load_journey_model", "load_text_model", "save_model"]

MODELS = "models"
FORMAT = 1
JOURNEY = "journey.pkl"


def save_model(root: Path, name: str, model: Any) -> Path:
    folder = root / MODELS
    folder.mkdir(exist_ok=True)
    path = folder / name
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        stamp = {"format": FORMAT, "sklearn": sklearn.__version__, "model": model}
        pickle.dump(stamp, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def _load(root: Path, name: str) -> Any:
    path = root / MODELS / name
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        stored = pickle.load(fh)
    if not isinstance(stored, dict) or (stored.get("format"), stored.get("sklearn")) != (
        FORMAT,
        sklearn.__version__,
    ):
        raise ValueError(f"{path} was written by another gapwatch or scikit-learn version: retrain")
    return stored["model"]


def load_journey_model(root: Path) -> Any:
    """The stored journey model, or None before the first ``gapwatch predict --retrain``."""
    return _load(root, JOURNEY)


def load_text_model(root: Path) -> Any:
    """The text model of the stored journey model (None without one)."""
    model = load_journey_model(root)
    return None if model is None else getattr(model, "text", None)
