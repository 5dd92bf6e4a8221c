"""Fuzzing: schemathesis over the OpenAPI spec, positive and negative data, every check.

Every generated request must get a documented status (never a 5xx) and a body that
matches the declared schema. The default example count keeps CI quick; the full run is

    GAPWATCH_FUZZ_EXAMPLES=300 .venv/bin/pytest -q tests/api/test_fuzz.py -m slow -s
"""

from __future__ import annotations

import atexit
import os
from collections import Counter

import pytest
import schemathesis
from apihelpers import bearer, make_runtime, seed_alert
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from gapwatch.api import create_app
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role

EXAMPLES = int(os.environ.get("GAPWATCH_FUZZ_EXAMPLES", "25"))

runtime = make_runtime()
atexit.register(runtime.close)
ADMIN = runtime.write(lambda con: create_token(con, Role.ADMIN))[0]
seed_alert(runtime)
# Streams with charts for the stream routes (their example id `delivery:*:delivery_days` exists).
DELIVERIES = [
    {
        "event_id": f"fz{i}",
        "customer_id": f"C{i}",
        "occurred_at": f"2026-03-{1 + i % 20:02d}T10:00:00Z",
        "moment": "delivery",
        "metric": "delivery_days",
        "segment": ("premium", "standard")[i % 2],
        "value": i % 5,
    }
    for i in range(60)
]
runtime.writer.call(runtime.ingest_job(DELIVERIES, "crm"))
app = create_app(runtime, close_on_shutdown=False)

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)
# Schemathesis knows the token as explicit auth: it drops or breaks it only in its own auth probes.
schema.config.update(headers=bearer(ADMIN))
# A body over the size limit is rejected before it is read (413): that is a rejection too.
_rejection = schema.config.checks.negative_data_rejection
schema.config.checks.negative_data_rejection = type(_rejection)(
    expected_statuses=[*_rejection.expected_statuses, "413"]
)
STATS: Counter[str] = Counter()


@pytest.mark.slow
@schema.parametrize()
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    # Any bytes are a schema-valid file, but a file its source's mapping cannot read at all is
    # refused by design (422, nothing written): positive-data acceptance cannot hold there.
    upload = case.operation.label == "POST /v1/files"
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance] if upload else None)
    STATS[f"{case.operation.label}"] += 1
    STATS["cases"] += 1
    STATS[f"status {response.status_code // 100}xx"] += 1


def teardown_module() -> None:
    print(
        f"\nschemathesis: {STATS['cases']} cases; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items()) if k.startswith("status"))
    )
