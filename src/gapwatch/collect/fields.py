"""Reading one mapped value out of a message: the first present path, a map, a scale, a default.

Values are taken as they are (a number stays a number, a string a string): the ingest path
that receives the records judges every field's type and domain, so a bad value rejects
that record with its reason instead of being silently coerced here.

Examples
--------
>>> from gapwatch.config.collect import PathField
>>> spec = PathField.model_validate({"path": ["properties.tier", "context.traits.tier"],
...                                  "map": {"gold": "premium"}})
>>> value(spec, {"context": {"traits": {"tier": "gold"}}})
'premium'
>>> value(spec, {"properties": {}}) is MISSING
True
"""

from __future__ import annotations

from typing import Any

import orjson

from gapwatch.config.collect import PathField
from gapwatch.config.jsonpath import MISSING


def value(spec: PathField | None, doc: Any) -> Any:
    """The value ``spec`` names in ``doc``, or :data:`MISSING` (absent, or JSON null)."""
    if spec is None:
        return MISSING
    if spec.value is not None:
        return spec.value
    found: Any = MISSING
    for path in spec.path or ():
        here = path.get(doc)
        if here is not MISSING and here is not None:
            found = here
            break
    if found is MISSING:
        return spec.default if spec.default is not None else MISSING
    if spec.map is not None:
        label = found if isinstance(found, str) else orjson.dumps(found).decode()
        if label in spec.map:
            return spec.map[label]
        return spec.default if spec.default is not None else found  # judged (and rejected) downstream
    if spec.scale is not None and isinstance(found, int | float) and not isinstance(found, bool):
        return found * spec.scale
    return found


def text_id(raw: Any) -> str | None:
    """An id as text: a string or an integer; anything else is no id."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    text = str(raw)
    return text or None
