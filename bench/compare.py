#!/usr/bin/env python3
"""Turns bench/run.sh's rows (one JSON object per line) into the Markdown table, the JSON
file and an SVG bar chart of the Emporium/peer ratios. Usage: compare.py rows.jsonl out-prefix title"""
import json
import math
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
prefix, title = sys.argv[2], sys.argv[3]
scenarios = []
for r in rows:
    if r["scenario"] not in scenarios:
        scenarios.append(r["scenario"])


def find(scenario, system):
    return next((r for r in rows if r["scenario"] == scenario and r["system"] == system), None)


def fmt(r, key, unit=""):
    if r is None or r.get(key) is None:
        return "n/a"
    v = r[key]
    return f"{v:,.0f}{unit}" if key == "rps" else f"{v:.2f}{unit}"


table = []
lines = [f"# {title}", "", "| scenario | Emporium req/s | p50 ms | p99 ms | errors | RSS MiB | peer req/s | p50 ms | p99 ms | errors | RSS MiB | ratio |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for s in scenarios:
    ours = [r for r in rows if r["scenario"] == s and r["system"].startswith("emporium")]
    # The peer caches no pages, so its every product page is a first visit: our uncached
    # pages are compared with its product pages.
    same_size_peer = find({"product-page-uncached": "product-page"}.get(s, s), "vendure")
    for o in ours:
        # Rows of Emporium alone on a larger catalog have no peer to compare with.
        peer = same_size_peer if not o["system"].endswith("k") else {"rps": None, "note": "Emporium alone"}
        ratio = (o["rps"] / peer["rps"]) if peer and peer.get("rps") else None
        bound = None
        if peer and peer.get("rps") == 0 and peer.get("seconds"):
            # Not one request finished in the run: the peer's rate is below 1 per run.
            bound = o["rps"] * peer["seconds"]
        name = s if o["system"] == "emporium" else f"{s} ({o['system'][9:]})"
        note = peer.get("note") if peer and peer.get("rps") is None else None
        lines.append(
            f"| {name} | {fmt(o, 'rps')} | {fmt(o, 'p50_ms')} | {fmt(o, 'p99_ms')} | {o.get('errors', 0)} | {o.get('rss_mib', '')} | "
            + (f"{fmt(peer, 'rps')} | {fmt(peer, 'p50_ms')} | {fmt(peer, 'p99_ms')} | {peer.get('errors', 0)} | {peer.get('rss_mib', '')} | " if peer and peer.get("rps")
               else f"none finished in {peer['seconds']} s | | | | {peer.get('rss_mib', '')} | " if bound
               else f"{note or 'not measured'} | | | | | ")
            + (f"**{ratio:,.0f}x** |" if ratio else f"**> {bound:,.0f}x** |" if bound else "n/a |"))
        table.append({"scenario": name, "emporium": o, "peer": peer, "ratio": ratio or bound})
open(prefix + ".md", "w").write("\n".join(lines) + "\n")
json.dump({"title": title, "rows": table}, open(prefix + ".json", "w"), indent=2)

# A horizontal bar per scenario with a ratio, on a log scale.
bars = [(t["scenario"], t["ratio"]) for t in table if t["ratio"]]
width, left, bar_h, gap = 760, 250, 22, 10
height = 60 + len(bars) * (bar_h + gap)
top = max([math.log10(r) for _, r in bars] + [1])
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
       f'<text x="10" y="24" font-size="15" font-weight="bold">{title}: Emporium / peer req/s (log scale)</text>']
for i, (name, ratio) in enumerate(bars):
    y = 44 + i * (bar_h + gap)
    w = max(2, (width - left - 90) * max(math.log10(ratio), 0) / top)
    svg.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{name}</text>')
    svg.append(f'<rect x="{left}" y="{y}" width="{w:.0f}" height="{bar_h}" fill="#2f6fb3"/>')
    svg.append(f'<text x="{left + w + 6:.0f}" y="{y + 16}">{ratio:,.0f}x</text>')
svg.append("</svg>")
open(prefix + ".svg", "w").write("\n".join(svg) + "\n")
print("\n".join(lines))
