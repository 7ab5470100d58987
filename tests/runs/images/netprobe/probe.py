"""Network probes for tests/runs/test_run_network.py (tests only).

``probe``: try a TCP connection to each ``host:port`` of the ``targets``
parameter and write what happened to ``_result.json``. ``serve``: listen on
a port for a while (the target another run probes).
"""

import json
import os
import socket
import sys
import time

OUT = os.environ.get("MLK_OUTPUTS", "/mlk/outputs")


def params():
    with open(os.environ["MLK_PARAMS"]) as fh:
        return json.load(fh)


def probe():
    reached = {}
    for target in params().get("targets", []):
        host, _, port = target.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=3) as conn:
                conn.settimeout(3)
                try:
                    reached[target] = conn.recv(64).decode() or True
                except OSError:
                    reached[target] = True
        except OSError as exc:
            reached[target] = f"unreachable: {exc}"
    with open(os.path.join(OUT, "_result.json"), "w") as fh:
        json.dump({"reached": reached, "interfaces": sorted(os.listdir("/sys/class/net"))}, fh)
    print(json.dumps(reached))


def serve():
    p = params()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", p.get("port", 8000)))
    server.listen(16)
    server.settimeout(0.5)
    print("serving", flush=True)
    deadline = time.monotonic() + p.get("seconds", 60)
    while time.monotonic() < deadline:
        try:
            conn, _ = server.accept()
        except OSError:
            continue
        with conn:
            conn.sendall(b"run")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
