"""The report's stylesheet, inlined into the page (no external file, no web font).

The chart rules live in ``charts.css`` beside this module: the web app serves the same file.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["CHARTS_CSS", "CSS"]

CHARTS_CSS = files("gapwatch.report").joinpath("charts.css").read_text(encoding="utf-8")

PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:64rem;
color:#1d2430;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d9dee7}
p.note{color:#4a5568;margin:.2rem 0}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border-bottom:1px solid #e5e9f0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6fa}td.good{color:#1b7f3b}td.bad{color:#b42318;font-weight:600}td.thin{color:#4a5568}
"""

CSS = PAGE_CSS + CHARTS_CSS
