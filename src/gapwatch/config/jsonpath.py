"""A small JSON path: where a value sits in a posted message (``properties.delivery_days``).

The mappings of tracked events and webhooks (``gapwatch.yaml``) name values by path: keys
joined by dots, list positions in brackets, and keys that are not plain names quoted in
brackets (``properties["Order Total"]``). A leading ``$.`` is allowed. Paths are parsed
once, when the configuration loads; reading one is a walk of at most :data:`MAX_DEPTH`
steps, so a hostile message cannot make it cost more.

Examples
--------
>>> p = parse_path('data.answers[1]["How likely?"]')
>>> p.steps
('data', 'answers', 1, 'How likely?')
>>> p.get({"data": {"answers": [{}, {"How likely?": 9}]}})
9
>>> p.get({"data": {"answers": "not a list"}}) is MISSING
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

MAX_DEPTH = 16
MAX_PATH = 256
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


class _Missing:
    """What a path gives where the message has nothing (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class PathError(ValueError):
    """A path that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: keys (str) and list positions (int)."""

    text: str
    steps: tuple[str | int, ...]

    def get(self, doc: Any) -> Any:
        """The value at this path in ``doc``, or :data:`MISSING`."""
        here = doc
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(here, list) or step >= len(here):
                    return MISSING
            elif not isinstance(here, dict) or step not in here:
                return MISSING
            here = here[step]
        return here

    @property
    def last(self) -> str:
        """The last key (a default attribute name)."""
        keys = [s for s in self.steps if isinstance(s, str)]
        return keys[-1] if keys else "value"

    def __str__(self) -> str:
        return self.text


def parse_path(text: str) -> JsonPath:
    """Parse ``text``; raise :class:`PathError` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise PathError("a path is a non-empty string, e.g. properties.delivery_days")
    if len(text) > MAX_PATH:
        raise PathError(f"a path has at most {MAX_PATH} characters")
    rest = text.strip()
    if rest.startswith("$"):
        rest = rest[1:].lstrip(".")
    steps: list[str | int] = []
    while rest:
        if rest.startswith("["):
            step, rest = _bracket(rest, text)
        else:
            match = _NAME.match(rest)
            if match is None:
                raise PathError(f'cannot read {text!r} at {rest[:20]!r}: quote such keys as ["..."]')
            step, rest = match.group(0), rest[match.end() :]
        steps.append(step)
        if rest.startswith("."):
            rest = rest[1:]
            if not rest or rest.startswith((".", "[")):
                raise PathError(f"{text!r}: a dot must be followed by a key")
        elif rest and not rest.startswith("["):
            raise PathError(f"cannot read {text!r} at {rest[:20]!r}")
    if not steps:
        raise PathError(f"{text!r} names no key")
    if len(steps) > MAX_DEPTH:
        raise PathError(f"{text!r} is deeper than {MAX_DEPTH} steps")
    return JsonPath(text, tuple(steps))


def _bracket(rest: str, text: str) -> tuple[str | int, str]:
    """One ``[n]`` or ``["key"]`` step, and what follows it."""
    if rest[1:2] in ('"', "'"):
        quote = rest[1]
        end = rest.find(quote + "]", 2)
        if end < 0:
            raise PathError(f"{text!r}: an unclosed quoted key")
        return rest[2:end], rest[end + 2 :]
    end = rest.find("]")
    inner = rest[1:end] if end > 0 else ""
    if not inner.isdigit() or len(inner) > 6:
        raise PathError(f"{text!r}: brackets hold a list position (0, 1, ...) or a quoted key")
    return int(inner), rest[end + 1 :]
