"""Writes every product slug of a running node, one a line: python3 bench/slugs.py BASE OUT.

Pages through GET /api/v1/products with its cursor; the wrk scripts read the file.
"""
import json
import sys
import urllib.request

base, path = sys.argv[1], sys.argv[2]
slugs, cursor = [], None
while True:
    url = f"{base}/api/v1/products?limit=100" + (f"&cursor={cursor}" if cursor else "")
    page = json.load(urllib.request.urlopen(url))
    slugs += [p["slug"] for p in page["data"]]
    cursor = page["next_cursor"]
    if not cursor:
        break
open(path, "w").write("\n".join(slugs) + "\n")
print(f"{len(slugs)} slugs")
