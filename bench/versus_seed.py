"""Seeds a collection ($BENCH_COLLECTION, `bench` unless set) with the same rows on Moon or
PocketBase over one keep-alive connection and prints the record ids (bench/versus.sh).
Usage: versus_seed.py moon|pocketbase PORT COUNT [TOKEN]"""
import http.client
import json
import os
import sys

kind, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
token = sys.argv[4] if len(sys.argv) > 4 else ""
name = os.environ.get("BENCH_COLLECTION", "bench")
conn = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data) if data else None


def row(i):
    return {"title": f"item {i}", "brand": f"Brand{i % 10}", "price": (i * 37) % 1000 + 0.5, "stock": i}


if kind == "moon":
    call("POST", "/collections:create", {"name": name, "columns": [
        {"name": "title", "type": "string", "nullable": False},
        {"name": "brand", "type": "string"},
        {"name": "price", "type": "decimal"},
        {"name": "stock", "type": "integer"}]})
    for start in range(0, count, 50):
        items = [dict(row(i), price=f"{row(i)['price']:.2f}") for i in range(start, min(start + 50, count))]
        for record in call("POST", f"/{name}:create?atomic=true", items)["data"]:
            print(record["id"])
else:
    call("POST", "/api/collections", {"name": name, "type": "base", "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "brand", "type": "text"},
        {"name": "price", "type": "number"},
        {"name": "stock", "type": "number"}],
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""})
    for i in range(count):
        print(call("POST", f"/api/collections/{name}/records", row(i))["id"])
