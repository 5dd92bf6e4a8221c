"""``POST /v1/files``: a file through a source mapping via the server; names cannot escape its folder."""

from __future__ import annotations

import httpx
from apihelpers import bearer, make_runtime, serve

from gapwatch.api import create_app
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role

CSV = (
    "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at\n"
    "U1,C1,2026-03-01T10:00:00Z,STD,4,,DHL,north,x\n"
    "U2,C2,2026-03-01T11:00:00Z,PREM,not-a-number,,DHL,north,x\n"
)


def test_upload_counts_and_refusals() -> None:
    runtime = make_runtime(max_upload_bytes=4096)
    admin = runtime.write(lambda con: create_token(con, Role.ADMIN))[0]
    orders_key = runtime.write(lambda con: create_token(con, Role.INGEST, source="orders"))[0]
    try:
        with serve(create_app(runtime, close_on_shutdown=False)) as url, httpx.Client(base_url=url) as c:

            def post(name: str, body: bytes, token: str = admin, source: str = "orders") -> httpx.Response:
                params = {"source": source, "name": name}
                return c.post("/v1/files", params=params, content=body, headers=bearer(token))

            first = post("../../orders.csv", CSV.encode())  # a name that tries to leave the upload folder
            assert first.status_code == 200, first.text
            body = first.json()
            assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 0, 1)
            assert body["received"] == 2 and body["reasons"] == {"bad_value": 1}
            assert post("..", CSV.encode(), orders_key).json()["duplicate"] == 1  # ".." is a plain name here
            assert post("x.csv", CSV.encode(), orders_key, source="web").status_code == 403
            assert post("x.csv", CSV.encode(), source="nope").status_code == 404
            missing = post("x.csv", b"a,b\n1,2\n")  # the mapped columns are missing
            assert missing.status_code == 422 and missing.json()["message"].startswith("x.csv: ")
            empty = post("empty.csv", b"")
            assert empty.status_code == 422 and "empty.csv: the file is empty" in empty.json()["message"]
            assert post("x.csv", b"x" * 5000).status_code == 413  # over max_upload_bytes
    finally:
        runtime.close()
