"""Emotions and intent in free text: language, sentiment, rule labels, and a learned signal.

- :mod:`.language`: the language of a comment (py3langid's model, shipped in its wheel, BSD-3);
  ``und`` when a comment is too short or too unclear to tell;
- :mod:`.sentiment`: VADER (English, MIT) and LeIA (VADER adapted to Brazilian Portuguese, MIT);
  other languages get no lexicon score rather than a wrong one;
- :mod:`.rules`: emotion and intent labels from per-language rules (regular expressions,
  negation-aware for emotions), with defaults for English and Portuguese written for gapwatch
  and overridable per workspace (research-only lexicons such as NRC EmoLex are not used);
- :mod:`.learned`: a character n-gram model learned from the workspace's own outcomes, which
  works in any language its customers write.
"""

from __future__ import annotations
