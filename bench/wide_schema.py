#!/usr/bin/env python3
"""Creates N collections of M columns (all six types in turn) on a running Moon, for the
OpenAPI figures in docs/benchmarks.md.   bench/wide_schema.py BASE TOKEN N M"""
import http.client, json, sys, urllib.parse

base, token, n, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlparse(base)
types = [{"type": "string"}, {"type": "integer"}, {"type": "decimal", "scale": 2},
         {"type": "boolean"}, {"type": "datetime"}, {"type": "json"}]
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
for i in range(n):
    columns = [dict(name=f"column_{j}", **types[j % len(types)]) for j in range(m)]
    body = json.dumps({"name": f"wide_{i}", "columns": columns})
    conn.request("POST", "/collections:create", body,
                 {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    res = conn.getresponse()
    res.read()
    if res.status != 201:
        sys.exit(f"collection {i}: {res.status}")
print(f"created {n} collections of {m} columns")
