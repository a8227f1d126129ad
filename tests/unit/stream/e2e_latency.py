#!/usr/bin/env python3
"""End-to-end stream latency against a running angorad (not run by CTest; see
docs/benchmarks.md, Throughput): submits a spec, notes when each line appears in the run's
metrics.jsonl (polled every 0.5 ms) and when its row arrives on the websocket, and prints the
median and p99 of the difference.

usage: e2e_latency.py WS_PORT HTTP_PORT TOKEN DATA_DIR SPEC.json
"""
import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.request


def ws_connect(port, token):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nAuthorization: Bearer %s\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (token, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, rest = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit("upgrade refused: %s" % head.split(b"\r\n")[0].decode())
    return s, rest


def ws_send(s, obj):
    payload = json.dumps(obj).encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def main():
    ws_port, http_port, token, data_dir, spec_path = sys.argv[1:6]
    s, buf = ws_connect(int(ws_port), token)
    ws_send(s, {"type": "subscribe", "all": True})
    req = urllib.request.Request(
        "http://127.0.0.1:%s/api/v1/experiments" % http_port, data=open(spec_path, "rb").read(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        method="POST")
    exp = json.load(urllib.request.urlopen(req))["id"]
    path = os.path.join(data_dir, "runs", str(exp), "metrics.jsonl")
    appear, recv, stop = {}, {}, threading.Event()

    def tail():
        n = 0
        while not stop.is_set():
            try:
                with open(path, "rb") as f:
                    lines = f.read().count(b"\n")
            except OSError:
                lines = 0
            now = time.monotonic()
            while n < lines:
                n += 1
                appear[n] = now
            time.sleep(0.0005)

    threading.Thread(target=tail, daemon=True).start()
    s.settimeout(0.2)
    deadline = time.time() + 600
    finished = False
    while not finished and time.time() < deadline:
        while len(buf) >= 2:
            n, h = buf[1] & 127, 2
            if n == 126:
                n, h = struct.unpack(">H", buf[2:4])[0], 4
            elif n == 127:
                n, h = struct.unpack(">Q", buf[2:10])[0], 10
            if len(buf) < h + n:
                break
            op, payload, buf = buf[0] & 15, buf[h:h + n], buf[h + n:]
            if op != 1:
                continue
            m = json.loads(payload)
            if m["type"] == "row" and m["exp"] == exp:
                recv[m["row"]["iteration"]] = time.monotonic()
            if m["type"] == "state" and m["exp"] == exp and \
                    m["state"] in ("succeeded", "failed", "cancelled"):
                finished = True
        try:
            data = s.recv(65536)
            if not data:
                break
            buf += data
        except socket.timeout:
            pass
    stop.set()
    lat = sorted((recv[i] - appear[i]) * 1e3 for i in recv if i in appear)
    if not lat:
        sys.exit("no rows received")
    print("rows %d, line written -> row received: median %.1f ms, p99 %.1f ms, max %.1f ms" % (
        len(lat), lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]))


if __name__ == "__main__":
    main()
