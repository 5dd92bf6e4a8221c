"""Collect: what front-office tools already send, mapped to experience records.

Segment / RudderStack HTTP Tracking API messages (``/collect/v1/...``) and survey or form
webhooks (``/collect/webhooks/{source}``) are checked (:mod:`~gapwatch.collect.messages`),
mapped per source (:mod:`~gapwatch.collect.tracking`, :mod:`~gapwatch.collect.webhooks`)
and written by the service's single writer (:mod:`~gapwatch.collect.write`) through the one
ingest path, so validation, dedupe and durability are those of ``POST /v1/events``.
Unmapped tracked calls are kept as behaviour; ids seen together are linked (identity
stitching). ``check_samples`` is ``gapwatch check --samples``.
"""

from __future__ import annotations
