#!/usr/bin/env python3
"""Change feed latency and idle cost against a running Moon with auth off (bench/feed.sh).

latency: one `:changes` subscriber, creates paced at RATE per second over keep-alive
connections; for each create, the time from sending it to its event arriving (an upper bound
of commit-to-event) and from its 201 to the event (a lower bound). idle: opens N subscribers
that read nothing and prints Moon's RSS before and after.

webhook: the same paced creates with a subscription to a local receiver; the time from
sending a create to its delivery arriving.

usage: feed_latency.py latency|webhook BASE RATE SECONDS | feed_latency.py idle BASE N PID
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def subscribe(host, port, path):
    s = socket.create_connection((host, port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return s


def webhook_receiver(arrived):
    import http.server

    class Hook(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            data = json.loads(body)
            if data.get("id"):
                arrived.setdefault(data["id"], time.monotonic())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def latency(base, rate, seconds, webhook=False):
    u = urllib.parse.urlparse(base)
    arrived = {}
    stop = threading.Event()
    if webhook:
        port = webhook_receiver(arrived)
        conn = http.client.HTTPConnection(u.hostname, u.port)
        sub = {"name": "bench", "url": f"http://127.0.0.1:{port}/hook", "collections": ["bench"], "secret": "s"}
        conn.request("POST", "/subscriptions:create", json.dumps(sub), {"Content-Type": "application/json"})
        assert conn.getresponse().status == 201

    def reader():
        s = subscribe(u.hostname, u.port, "/bench:changes")
        buf = b""
        while not stop.is_set():
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data:"):
                        data = json.loads(line[5:])
                        if data.get("id"):
                            arrived[data["id"]] = time.monotonic()

    if not webhook:
        threading.Thread(target=reader, daemon=True).start()
    time.sleep(0.5)
    sent = {}
    writers = 4
    per_writer = rate / writers
    total = int(rate * seconds)

    def writer(k):
        conn = http.client.HTTPConnection(u.hostname, u.port)
        start = time.monotonic()
        for n in range(total // writers):
            due = start + n / per_writer
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            body = json.dumps({"data": {"title": f"w{k}-{n}", "qty": n}})
            t0 = time.monotonic()
            conn.request("POST", "/bench:create", body, {"Content-Type": "application/json"})
            res = conn.getresponse()
            payload = res.read()
            t1 = time.monotonic()
            if res.status == 201:
                sent[json.loads(payload)["data"]["id"]] = (t0, t1)

    ws = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    began = time.monotonic()
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    elapsed = time.monotonic() - began
    time.sleep(3.0)
    stop.set()
    upper, lower, missing = [], [], 0
    for rid, (t0, t1) in sent.items():
        if rid not in arrived:
            missing += 1
            continue
        upper.append((arrived[rid] - t0) * 1000)
        lower.append(max(0.0, arrived[rid] - t1) * 1000)
    upper.sort()
    lower.sort()

    def pct(xs, p):
        return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")

    print(f"writes {len(sent)} in {elapsed:.1f} s ({len(sent) / elapsed:.0f}/s), events missing {missing}")
    print(f"send->event ms: p50 {pct(upper, .5):.2f} p99 {pct(upper, .99):.2f} max {upper[-1] if upper else 0:.2f}")
    print(f"ack->event  ms: p50 {pct(lower, .5):.2f} p99 {pct(lower, .99):.2f} max {lower[-1] if lower else 0:.2f}")


def idle(base, n, pid):
    u = urllib.parse.urlparse(base)
    time.sleep(1.0)
    before = rss_kb(pid)
    socks = []
    for _ in range(n):
        s = subscribe(u.hostname, u.port, "/bench:changes")
        socks.append(s)
    time.sleep(3.0)
    ok = 0
    for s in socks:
        s.settimeout(2.0)
        try:
            if s.recv(4096).startswith(b"HTTP/1.1 200"):
                ok += 1
        except OSError:
            pass
    time.sleep(2.0)
    after = rss_kb(pid)
    print(f"{ok} of {n} subscribers open; RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB "
          f"(+{(after - before) / 1024:.1f} MB, {(after - before) / max(ok, 1):.1f} KB each)")
    for s in socks:
        s.close()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode in ("latency", "webhook"):
        latency(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), mode == "webhook")
    else:
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
