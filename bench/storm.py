#!/usr/bin/env python3
"""Hostile-client figures for docs/benchmarks.md: runs one storm against a running Moon and
samples its RSS (VmRSS) every 50 ms, and /health latency every 100 ms, throughout and for
10 s after. Prints idle, peak and after-10-s RSS in MB, the worst /health time and the
answers by status.

  bench/storm.py PID BASE logins N SECONDS USER PASSWORD  # N concurrent logins
  bench/storm.py PID BASE bodies N                      # N anonymous 2 MiB nested bodies to /auth:login
  bench/storm.py PID BASE openapi N TOKEN               # N concurrent GET /openapi.json
"""
import http.client, json, sys, threading, time, urllib.parse
from collections import Counter

pid, base, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = int(sys.argv[4])
host = urllib.parse.urlparse(base)

def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        res.read()
        return res.status
    except Exception as e:  # a refused or cut connection counts by its kind
        return type(e).__name__
    finally:
        conn.close()

stop = threading.Event()
samples, health = [], []
def sampler():
    while not stop.is_set():
        samples.append(rss_mb())
        time.sleep(0.05)
def prober():
    while not stop.is_set():
        t = time.monotonic()
        request("GET", "/health")
        health.append(time.monotonic() - t)
        time.sleep(0.1)

statuses = Counter()
lock = threading.Lock()
def worker(job):
    for status in job():
        with lock:
            statuses[status] += 1

if kind == "logins":
    seconds = float(sys.argv[5])
    body = json.dumps({"username": sys.argv[6], "password": sys.argv[7]})
    def job():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            yield request("POST", "/auth:login", body, {"Content-Type": "application/json"})
elif kind == "bodies":
    nested = ("[" * 100_000 + "]" * 100_000) + " " * (2 * 1024 * 1024 - 200_000)
    def job():
        yield request("POST", "/auth:login", nested, {"Content-Type": "application/json"})
elif kind == "openapi":
    token = sys.argv[5]
    def job():
        yield request("GET", "/openapi.json", None, {"Authorization": f"Bearer {token}"})
else:
    sys.exit(f"unknown storm {kind}")

idle = rss_mb()
threads = [threading.Thread(target=sampler), threading.Thread(target=prober)]
for t in threads:
    t.start()
workers = [threading.Thread(target=worker, args=(job,)) for _ in range(n)]
started = time.monotonic()
for w in workers:
    w.start()
for w in workers:
    w.join()
took = time.monotonic() - started
peak = max(samples) if samples else rss_mb()
time.sleep(10)
stop.set()
for t in threads:
    t.join()
print(json.dumps({
    "storm": kind, "clients": n, "seconds": round(took, 1),
    "idle_mb": round(idle, 1), "peak_mb": round(peak, 1), "after_10s_mb": round(rss_mb(), 1),
    "health_worst_ms": round(max(health) * 1000, 1) if health else None,
    "answers": {str(k): v for k, v in statuses.items()},
}))
