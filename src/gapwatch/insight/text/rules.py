"""Emotion and intent labels from per-language rules.

A rule set maps a label to regular expressions, per language. Text is lower-cased and its
accents stripped before matching (so ``não`` and ``nao`` match alike), and patterns are written
that way. Emotion labels are negation-aware: a match preceded within three words by a negator
(``not``, ``never``, ``não``, ``nunca`` …) does not count ("not happy" is not joy). Intent
patterns carry their own negation where it matters (``não chegou``).

The defaults below were written for gapwatch (Apache-2.0) for English and Portuguese. A
workspace adds labels or replaces a label's patterns in ``gapwatch.yaml``::

    text:
      rules:
        en:
          intent:
            cancel: ['\\bcancel', '\\bterminate my contract\\b']
          emotion:
            relief: ['\\brelieved\\b']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_RULES", "RuleSet", "fold"]

Patterns = Mapping[str, Mapping[str, Sequence[str]]]  # kind ("emotion"/"intent") -> label -> regexes

DEFAULT_RULES: dict[str, dict[str, dict[str, list[str]]]] = {
    "en": {
        "intent": {
            "cancel": [
                r"\bcancel",
                r"\bclos(e|ing) (my|the) account\b",
                r"\bterminat(e|ing)\b",
                r"\bunsubscrib",
                r"\bswitch(ing)? to (another|a different|a competitor)\b",
                r"\bleav(e|ing) you\b",
            ],
            "complaint": [
                r"\bcomplain",
                r"\bunacceptable\b",
                r"\bterrible\b",
                r"\bawful\b",
                r"\bworst\b",
                r"\bdisgrace",
                r"\bripped off\b",
                r"\bscam\b",
                r"\bnever again\b",
                r"\bpoor service\b",
            ],
            "refund": [
                r"\brefund",
                r"\bmoney back\b",
                r"\bchargeback\b",
                r"\breturn(ed|ing)? (it|the|my|this)\b",
            ],
            "where_is_my_order": [
                r"\bwhere is my (order|package|parcel|delivery)\b",
                r"\b(hasn'?t|has not|never|still not|not yet|didn'?t|did not) "
                r"(arrive|arrived|come|been delivered|received)\b",
                r"\bstill waiting\b",
                r"\bno tracking\b",
                r"\bnot (been )?delivered\b",
            ],
            "upgrade": [
                r"\bupgrad",
                r"\b(premium|pro|business|enterprise) (plan|tier|version)\b",
                r"\bmore (seats|licen[cs]es|users)\b",
                r"\badd(ing)? (seats|users)\b",
            ],
        },
        "emotion": {
            "anger": [
                r"\bangry\b",
                r"\bfurious\b",
                r"\boutrag",
                r"\blivid\b",
                r"\bfed up\b",
                r"\bridiculous\b",
                r"\bdisgust",
                r"\bannoy",
                r"\bunbelievable\b",
            ],
            "disappointment": [
                r"\bdisappoint",
                r"\bfrustrat",
                r"\blet down\b",
                r"\bexpected (more|better)\b",
                r"\bunfortunately\b",
                r"\bnot as (described|advertised|expected)\b",
            ],
            "worry": [r"\bworr(y|ied|ying)\b", r"\banxious\b", r"\bconcern", r"\bafraid\b", r"\bnervous\b"],
            "joy": [
                r"\blove(d|ly)?\b",
                r"\bgreat\b",
                r"\bexcellent\b",
                r"\bamazing\b",
                r"\bperfect\b",
                r"\bhappy\b",
                r"\bdelighted\b",
                r"\bawesome\b",
                r"\bfantastic\b",
                r"\bpleased\b",
            ],
            "gratitude": [r"\bthanks?\b", r"\bthank you\b", r"\bgrateful\b", r"\bappreciat"],
        },
    },
    "pt": {
        "intent": {
            "cancel": [
                r"\bcancel(ar|ei|ado|ada|amento|aram|em|ou)\b",
                r"\bdesist(i|ir|imos)\b",
                r"\bencerrar (a|minha) conta\b",
            ],
            "complaint": [
                r"\breclam",
                r"\bprocon\b",
                r"\bpessim[oa]s?\b",
                r"\bhorrivel\b",
                r"\bdescaso\b",
                r"\binaceitavel\b",
                r"\bvergonha\b",
                r"\benganad[oa]s?\b",
                r"\bnunca mais\b",
                r"\bpropaganda enganosa\b",
                r"\bfalta de respeito\b",
            ],
            "refund": [
                r"\breembols",
                r"\bestorn",
                r"\bdevolv(er|i|ido|ida|eram)\b",
                r"\bdevolucao\b",
                r"\bdinheiro de volta\b",
                r"\btroca\b",
            ],
            "where_is_my_order": [
                r"\bnao (recebi|chegou|foi entregue|veio)\b",
                r"\bainda nao\b",
                r"\bcade (o |meu |a |minha )?(pedido|produto|encomenda|entrega)\b",
                r"\baguardando\b",
                r"\bate (agora|hoje|o momento) (nada|nao)\b",
                r"\bnao entregue\b",
                r"\batras(o|ad[oa])\b",
            ],
            "upgrade": [r"\bupgrade\b", r"\bplano (premium|superior|empresarial)\b", r"\bmais licencas\b"],
        },
        "emotion": {
            "anger": [
                r"\braiva\b",
                r"\babsurd[oa]\b",
                r"\brevoltad[oa]\b",
                r"\bindignad[oa]\b",
                r"\bridicul[oa]\b",
                r"\bpalhacada\b",
                r"\birritad[oa]\b",
                r"\bdescaso\b",
            ],
            "disappointment": [
                r"\bdecepcion",
                r"\bdecepcao\b",
                r"\bfrustrad[oa]\b",
                r"\bfrustracao\b",
                r"\besperava mais\b",
                r"\binfelizmente\b",
                r"\blamentavel\b",
                r"\binsatisfeit[oa]\b",
            ],
            "worry": [
                r"\bpreocupad[oa]\b",
                r"\bpreocupacao\b",
                r"\breceio\b",
                r"\bmedo\b",
                r"\bansios[oa]\b",
            ],
            "joy": [
                r"\botim[oa]s?\b",
                r"\bexcelente\b",
                r"\badorei\b",
                r"\bamei\b",
                r"\bperfeit[oa]\b",
                r"\bmaravilhos[oa]\b",
                r"\bfeliz\b",
                r"\bsatisfeit[oa]\b",
                r"\brecomendo\b",
                r"\bbom\b",
            ],
            "gratitude": [r"\bobrigad[oa]\b", r"\bagradec", r"\bgrat[oa]\b", r"\bparabens\b"],
        },
    },
}

NEGATORS = {
    "en": {
        "not",
        "no",
        "never",
        "nor",
        "don't",
        "dont",
        "didn't",
        "didnt",
        "isn't",
        "isnt",
        "wasn't",
        "wasnt",
        "hardly",
        "without",
    },
    "pt": {"nao", "nunca", "nem", "jamais", "sem", "nenhum", "nenhuma"},
}
WORD = re.compile(r"[\w']+")


def fold(text: str) -> str:
    """Lower case without accents: the form rules are matched against.

    Examples
    --------
    >>> fold("Não RECEBI o produto, péssimo!")
    'nao recebi o produto, pessimo!'
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Compiled:
    label: str
    kind: str
    patterns: tuple[re.Pattern[str], ...]


class RuleSet:
    """Compiled rules: the defaults with a workspace's additions and replacements.

    Examples
    --------
    >>> rules = RuleSet()
    >>> rules.labels("I want to cancel, this is the worst service and I am not happy", "en")
    (['cancel', 'complaint'], [])
    >>> rules.labels("Não recebi o produto até agora, estou decepcionada", "pt")
    (['where_is_my_order'], ['disappointment'])
    """

    def __init__(self, overrides: Mapping[str, Patterns] | None = None) -> None:
        merged: dict[str, dict[str, dict[str, list[str]]]] = {
            lang: {kind: {k: list(v) for k, v in labels.items()} for kind, labels in kinds.items()}
            for lang, kinds in DEFAULT_RULES.items()
        }
        for lang, kinds in (overrides or {}).items():
            for kind, labels in kinds.items():
                if kind not in ("emotion", "intent"):
                    raise ValueError(f"text rules for {lang}: kind {kind!r} is not 'emotion' or 'intent'")
                for label, patterns in labels.items():
                    merged.setdefault(lang, {}).setdefault(kind, {})[label] = list(patterns)
        self.rules: dict[str, list[Compiled]] = {}
        for lang, kinds in merged.items():
            compiled = []
            for kind, labels in kinds.items():
                for label, patterns in labels.items():
                    try:
                        compiled.append(Compiled(label, kind, tuple(re.compile(p) for p in patterns)))
                    except re.error as exc:
                        raise ValueError(f"text rules for {lang}/{label}: bad pattern ({exc})") from None
            self.rules[lang] = compiled

    @property
    def languages(self) -> list[str]:
        return sorted(self.rules)

    def labels(self, text: str | None, language: str) -> tuple[list[str], list[str]]:
        """(intents, emotions) found in ``text`` under the rules of ``language``."""
        if not text or language not in self.rules:
            return [], []
        folded = fold(text[:4000])
        negators = NEGATORS.get(language, set())
        intents: list[str] = []
        emotions: list[str] = []
        for rule in self.rules[language]:
            if any(
                self._hit(p, folded, negators if rule.kind == "emotion" else set()) for p in rule.patterns
            ):
                (intents if rule.kind == "intent" else emotions).append(rule.label)
        return intents, emotions

    @staticmethod
    def _hit(pattern: re.Pattern[str], text: str, negators: set[str]) -> bool:
        for match in pattern.finditer(text):
            before = WORD.findall(text[max(0, match.start() - 40) : match.start()])[-3:]
            if not negators or not any(w in negators for w in before):
                return True
        return False
