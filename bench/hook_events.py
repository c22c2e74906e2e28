"""Writes N GitHub-signed webhook events, one per line: <signature>\t<json body>."""
import hashlib
import hmac
import json
import sys

secret, count = sys.argv[1].encode(), int(sys.argv[2])
for i in range(count):
    body = json.dumps({"id": f"evt-{i}", "amount": i, "currency": "EUR"}, separators=(",", ":"))
    sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    print(f"sha256={sig}\t{body}")
