"""Lexicon sentiment per language: VADER for English, LeIA for Portuguese.

Both return VADER's compound score in [-1, 1]; a comment is negative at -0.05 or below and
positive at 0.05 or above, Hutto & Gilbert's (2014) published thresholds. A language without a
lexicon here gets ``None``: no score is better than an English lexicon misreading Spanish.
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["LEXICON_LANGUAGES", "label", "sentiment"]

LEXICON_LANGUAGES = {"en": "VADER 3.3.2 (MIT)", "pt": "LeIA 0.0.1 (MIT)"}
NEGATIVE, POSITIVE = -0.05, 0.05

_lock = threading.Lock()
_analysers: dict[str, Any] = {}


def _analyser(language: str) -> Any:
    with _lock:
        found = _analysers.get(language)
        if found is None:
            if language == "en":
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                found = SentimentIntensityAnalyzer()
            else:
                with warnings.catch_warnings():
                    # LeIA reads its lexicon files at import without closing them: collect the
                    # handles here, where the warning they raise is expected
                    warnings.simplefilter("ignore", ResourceWarning)
                    from LeIA import SentimentIntensityAnalyzer as Leia

                    found = Leia()
                    gc.collect()
            _analysers[language] = found
        return found


def sentiment(texts: Sequence[str | None], languages: Sequence[str]) -> list[float | None]:
    """VADER compound score per text, ``None`` where the language has no lexicon here.

    Examples
    --------
    >>> [round(s, 2) if s is not None else None for s in sentiment(
    ...     ["Great service, thank you!", "Péssimo, chegou quebrado", "Muy mal"], ["en", "pt", "es"])]
    [0.78, -0.48, None]
    """
    out: list[float | None] = []
    for text, lang in zip(texts, languages, strict=True):
        if text is None or lang not in LEXICON_LANGUAGES:
            out.append(None)
            continue
        out.append(float(_analyser(lang).polarity_scores(text)["compound"]))
    return out


def label(score: float | None) -> str | None:
    """negative / neutral / positive, or None without a score."""
    if score is None:
        return None
    return "negative" if score <= NEGATIVE else "positive" if score >= POSITIVE else "neutral"
