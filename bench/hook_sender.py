"""Posts pre-signed webhook events (from hook_events.py) with 32 keep-alive connections,
each sending its share once; prints the statuses and the ingest rate."""
import collections
import http.client
import sys
import threading
import time

host, port, path, events_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
connections = int(sys.argv[5]) if len(sys.argv) > 5 else 32
events = [line.rstrip("\n").split("\t", 1) for line in open(events_file, encoding="utf-8")]
statuses = collections.Counter()
lock = threading.Lock()


def send(share):
    conn = http.client.HTTPConnection(host, port)
    seen = collections.Counter()
    for signature, body in share:
        conn.request("POST", path, body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
        response = conn.getresponse()
        response.read()
        seen[response.status] += 1
    with lock:
        statuses.update(seen)


threads = [threading.Thread(target=send, args=(events[i::connections],)) for i in range(connections)]
start = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
print(f"posted {len(events)} events with {connections} connections in {elapsed:.2f} s: "
      f"{len(events) / elapsed:.0f} events/s; statuses {dict(statuses)}")
