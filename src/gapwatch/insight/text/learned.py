"""A text signal learned from the workspace's own outcomes: character n-grams → P(low outcome).

Customers write in their own language, misspell and abbreviate, and a lexicon knows none of
the workspace's products. So gapwatch also learns, from comments whose customers later gave an
outcome, which character n-grams (2 to 5 characters within word boundaries, TF-IDF with
sublinear term frequency) predict a low outcome (a detractor, a review of 1–2), with an L2
logistic regression whose strength is chosen by 5-fold cross-validated log-loss. It works for
any language and needs no lexicon. It is evaluated on held-out rows by the caller (a time
split: :mod:`gapwatch.insight.journey`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from gapwatch.insight.text.rules import fold

__all__ = ["TextModel"]

Floats = npt.NDArray[np.float64]
MIN_TEXTS = 30
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


class TextModel:
    """Fit on texts with a 1/0 target; score new texts.

    Examples
    --------
    >>> bad, good = ["late and broken", "arrived broken", "very late"], ["great, fast", "perfect", "fine"]
    >>> texts = (bad + good) * 10
    >>> y = np.array([1, 1, 1, 0, 0, 0] * 10, dtype=float)
    >>> m = TextModel().fit(texts, y)
    >>> bool(m.score(["broken again"])[0] > 0.5 > m.score(["fast, perfect"])[0])
    True
    """

    def __init__(self, max_features: int = 100_000, seed: int = 0) -> None:
        self.max_features = max_features
        self.seed = seed

    def fit(self, texts: Sequence[str], y: Floats) -> TextModel:
        y = np.asarray(y, dtype=np.float64)
        if len(texts) < MIN_TEXTS or np.unique(y).size < 2:
            raise ValueError(f"a text model needs at least {MIN_TEXTS} texts with both outcomes")
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=2,
            sublinear_tf=True,
            max_features=self.max_features,
            preprocessor=fold,
            dtype=np.float64,
        )
        x = self.vectorizer_.fit_transform(texts)
        folds = int(max(2, min(5, np.bincount(y.astype(np.int64)).min())))
        with threadpool_limits(limits=1, user_api="blas"):
            self.c_ = self._choose(x, y, folds)
            self.model_ = LogisticRegression(C=self.c_, max_iter=2000).fit(x, y)
        return self

    def _choose(self, x: object, y: Floats, folds: int) -> float:
        """The regularisation with the best held-out log-loss (5-fold, stratified)."""
        losses = np.zeros(len(C_GRID))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        for tr, te in split.split(np.zeros(y.size), y):
            for i, c in enumerate(C_GRID):
                p = LogisticRegression(C=c, max_iter=2000).fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]  # type: ignore[index]
                p = np.clip(p, 1e-6, 1 - 1e-6)
                losses[i] -= float(np.sum(y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p)))
        return float(C_GRID[int(np.argmin(losses))])

    def score(self, texts: Sequence[str | None]) -> Floats:
        """P(low outcome | text); NaN where there is no text."""
        out = np.full(len(texts), np.nan)
        have = [i for i, t in enumerate(texts) if t]
        if have:
            x = self.vectorizer_.transform([str(texts[i]) for i in have])
            out[have] = self.model_.predict_proba(x)[:, 1]
        return out
