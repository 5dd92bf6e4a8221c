"""Which language a comment is in (py3langid, restricted to the workspace's candidate languages).

Character-level naive Bayes (Lui & Baldwin 2012) is reliable on a sentence but not on two
words, so a comment with fewer than ``MIN_LETTERS`` letters, or whose most likely language has
a normalised probability under ``MIN_PROBABILITY``, is ``und`` (undetermined) instead of a guess.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFAULT_LANGUAGES", "UNDETERMINED", "LanguageDetector"]

DEFAULT_LANGUAGES = ("en", "pt", "es", "fr", "de", "it", "nl")
UNDETERMINED = "und"
MIN_LETTERS = 8
MIN_PROBABILITY = 0.7

_lock = threading.Lock()
_models: dict[tuple[str, ...], Any] = {}


def _identifier(languages: tuple[str, ...]) -> Any:
    with _lock:
        found = _models.get(languages)
        if found is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            found.set_languages(list(languages))
            _models[languages] = found
        return found


class LanguageDetector:
    """Detect the language of comments among ``languages`` (ISO 639-1 codes).

    Examples
    --------
    >>> d = LanguageDetector()
    >>> d.detect(["The parcel arrived two days late and the box was crushed.",
    ...           "O produto chegou atrasado e veio quebrado.", "ok"])
    ['en', 'pt', 'und']
    """

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self.languages = tuple(sorted(set(languages)))
        if not self.languages:
            raise ValueError("at least one candidate language is needed")

    def detect(self, texts: Sequence[str | None]) -> list[str]:
        model = _identifier(self.languages)
        out = []
        for text in texts:
            if text is None or sum(ch.isalpha() for ch in text) < MIN_LETTERS:
                out.append(UNDETERMINED)
                continue
            lang, prob = model.classify(text)
            out.append(str(lang) if float(prob) >= MIN_PROBABILITY else UNDETERMINED)
        return out
