"""Seeds the bench collection over one keep-alive HTTP connection; prints the ids."""
import http.client
import json
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection(host, port)
schema = {"name": "bench", "columns": [
    {"name": "title", "type": "string", "nullable": False},
    {"name": "price", "type": "decimal"},
    {"name": "stock", "type": "integer"},
    {"name": "active", "type": "boolean"},
    {"name": "released", "type": "datetime"},
    {"name": "specs", "type": "json"},
]}
conn.request("POST", "/collections:create", json.dumps(schema), {"Content-Type": "application/json"})
response = conn.getresponse()
response.read()
if response.status not in (201, 409):
    sys.exit(f"cannot create the bench collection: {response.status}")
for i in range(count):
    body = {"data": {"title": f"seed {i}", "price": f"{i % 1000}.{i % 100:02d}", "stock": i,
                     "active": i % 2 == 0, "released": "2024-03-01T10:30:00Z", "specs": {"i": i}}}
    conn.request("POST", "/bench:create", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read())
    if response.status != 201:
        sys.exit(f"seed failed: {response.status} {data}")
    print(data["data"]["id"])
