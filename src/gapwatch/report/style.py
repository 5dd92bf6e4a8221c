"""The report's stylesheet, inlined into the page (no external file, no web font)."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:64rem;
color:#1d2430;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d9dee7}
p.note{color:#4a5568;margin:.2rem 0}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border-bottom:1px solid #e5e9f0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6fa}td.good{color:#1b7f3b}td.bad{color:#b42318;font-weight:600}td.thin{color:#8a94a6}
figure.stream{margin:1.2rem 0;padding:.5rem;border:1px solid #e5e9f0;border-radius:6px}
figcaption{font-weight:600;font-size:.92rem;margin-bottom:.3rem}
svg.chart{width:100%;height:auto;display:block}
svg .axis{stroke:#5b6474;stroke-width:1}svg .grid{stroke:#eef1f5;stroke-width:1}
svg .tick{font-size:10px;fill:#5b6474}svg .ylabel,svg .wlabel{font-size:10px;fill:#5b6474}
svg .title{font-size:12px;font-weight:600;fill:#1d2430}
svg polyline{fill:none}svg .stat{stroke:#1f5fbf;stroke-width:1.4}svg circle.stat{fill:#1f5fbf}
svg .center{stroke:#2f855a;stroke-width:1;stroke-dasharray:4 3}svg circle.center{fill:#2f855a}
svg .limit{stroke:#c05621;stroke-width:1;stroke-dasharray:2 2}svg circle.limit{fill:#c05621}
svg .signal{fill:#d92d20;stroke:#fff;stroke-width:1}svg .better{fill:#fff;stroke:#2f855a;stroke-width:1.6}
svg rect.baseline{fill:#2f855a;fill-opacity:.08}svg rect.incident{fill:#d92d20;fill-opacity:.12}
svg .incident-label{fill:#b42318}
"""
