"""Screenshots of every page of the web app on the demo workspace, at 1280×800 and at a phone's width.

    .venv/bin/python scripts/screenshots.py [--dir gapwatch-demo] [--out screenshots]

Builds the demo workspace first when the folder has none (``gapwatch demo``, 150,000 people),
adds what the insight pages show when it is missing (the simulated perception survey, the
comments analysed, a journey model trained: ``gapwatch perspectives ingest``, ``text analyse``,
``predict --retrain``; several minutes on 150,000 people), serves it in this process
(event-time clock, alerts raised from its signals), signs in with
the login form as an analyst and as a member of one silo, and saves one PNG per page and width
(full page). Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python. The browser
console and failed requests are printed: a page with any of them is named at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


@contextmanager
def served(folder: Path) -> Iterator[tuple[str, object]]:
    import uvicorn

    from gapwatch.api import Runtime, create_app
    from gapwatch.settings import Settings
    from gapwatch.workspace import Workspace

    ws = Workspace.open(folder)
    runtime = Runtime(Settings(clock="event", workspace=folder), ws.config, ws.store)
    app = create_app(runtime, close_on_shutdown=False)
    runtime.writer.call(runtime.alert)  # the demo's signals become alerts and cases
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        server.should_exit = True
        thread.join(10)
        runtime.close()
        ws.close()


def add_insight(folder: Path) -> None:
    """Perception answers, analysed comments and a journey model, each unless already there."""
    import gapwatch
    from gapwatch.insight.models import JOURNEY, MODELS

    with gapwatch.open(folder) as gw:
        if not gw.perspectives(pooled=True).answers:
            print("insight: perception survey", flush=True)
            gw.ingest_perceptions(folder / "sources" / "perceptions.csv")
        print("insight: comments", flush=True)
        gw.analyse_text()  # only the comments not analysed yet
        if not (folder / MODELS / JOURNEY).exists():
            print("insight: training the journey model", flush=True)
            gw.predict(retrain=True)


def _warm(runtime: object, folder: Path) -> None:
    """Make the service's first scoring of every customer (the at-risk page would say it is under way)."""
    from gapwatch.insight import risk as risk_svc

    started = time.perf_counter()
    lc = runtime.lifecycle  # type: ignore[attr-defined]
    found = risk_svc.at_risk(
        runtime.reader,  # type: ignore[attr-defined]
        risk_svc.service_model(folder, runtime),
        {m: lc.silo_of(m) for m in lc.moments},
        board=risk_svc.board_of(runtime),
    )
    print(f"insight: {found.scored:,} customers scored in {time.perf_counter() - started:.0f} s", flush=True)


def _token(runtime: object, role: str, silo: str | None = None) -> str:
    from gapwatch.auth.tokens import create_token
    from gapwatch.domain.access import Role

    plain: str = runtime.write(lambda c: create_token(c, Role(role), silo=silo, label="screenshots")[0])  # type: ignore[attr-defined]
    return plain


def _targets(runtime: object) -> dict[str, str]:
    """Paths worth a shot: a signalled stream, a case of another silo than the member's, a customer."""
    from gapwatch.live.read import list_streams
    from gapwatch.quality.inbox import inbox

    with runtime.reader() as con:  # type: ignore[attr-defined]
        streams = list_streams(con, runtime.lifecycle)  # type: ignore[attr-defined]
        items = inbox(con)
        customer = con.execute(
            "SELECT i.customer_id FROM identities i JOIN experiences e ON e.customer_key = i.customer_key"
            " GROUP BY 1 ORDER BY count(DISTINCT e.silo) DESC, abs(count(*) - 40), 1 LIMIT 1"
        ).fetchone()[0]
        # a customer still on their journey who wrote a negative comment (risk and text on one page)
        risky = con.execute(
            "SELECT min(i.customer_id) FROM identities i"
            " JOIN experiences e ON e.customer_key = i.customer_key"
            " JOIN text_signals t ON t.source = e.source AND t.event_id = e.event_id"
            " WHERE t.sentiment_label = 'negative' AND i.customer_key NOT IN"
            " (SELECT customer_key FROM outcomes WHERE customer_key IS NOT NULL)"
        ).fetchone()[0]
    signalled = max(streams, key=lambda s: s.signals)
    thin = [s for s in streams if s.method.startswith("per-event")]
    delivery_case = next((i.case.id for i in items if i.case.silo == "delivery"), items[0].case.id)
    other_case = next((i.case.id for i in items if i.case.silo != "delivery"), items[0].case.id)
    out = {
        "lifecycle": "/",
        "stream": f"/streams/{signalled.id}",
        "inbox": "/inbox",
        "case": f"/cases/{delivery_case}",
        "customers": f"/customers?q={customer[:5]}",
        "customer": f"/customers/{customer}",
    }
    if thin:
        out["stream-per-event"] = f"/streams/{thin[0].id}"
    out["risk"] = "/risk"
    out["perspectives"] = "/perspectives"
    if risky:
        out["customer-risk-text"] = f"/customers/{risky}"
    out["member-other-silo-case"] = f"/cases/{other_case}"
    out["member-risk"] = "/risk"
    out["member-perspectives"] = "/perspectives"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("gapwatch-demo"))
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    if not (args.dir / "gapwatch.yaml").exists():
        subprocess.run([sys.executable, "-m", "gapwatch", "demo", "--dir", str(args.dir)], check=True)
    add_insight(args.dir)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with served(args.dir) as (url, runtime), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        targets = _targets(runtime)
        _warm(runtime, args.dir)
        people = {"analyst": _token(runtime, "analyst"), "member": _token(runtime, "member", "delivery")}
        for name, (w, h) in WIDTHS.items():
            for who, token in people.items():
                page = browser.new_page(viewport={"width": w, "height": h})
                page.on(
                    "console",
                    lambda m, n=name: (
                        problems.append(f"{n}: console {m.type}: {m.text}")
                        if m.type in ("error", "warning")
                        else None
                    ),
                )
                page.on("requestfailed", lambda r, n=name: problems.append(f"{n}: failed {r.url}"))
                page.goto(f"{url}/login")
                page.screenshot(path=str(args.out / f"login-{name}.png"), full_page=True)
                page.fill("#token", token)
                page.click("button[type=submit]")
                page.wait_for_url(f"{url}/")
                for label, path in targets.items():
                    if (who == "member") != label.startswith("member"):
                        continue
                    started = time.perf_counter()
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(args.out / f"{label}-{name}.png"), full_page=True)
                    print(f"{label:>24} {name:<8} {path}  {time.perf_counter() - started:.2f} s", flush=True)
                page.close()
        browser.close()
    for line in problems:
        print(line, file=sys.stderr)
    shots = len(list(args.out.glob("*.png")))
    print(f"{shots} screenshots in {args.out}; {len(problems)} console errors or failed requests")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
