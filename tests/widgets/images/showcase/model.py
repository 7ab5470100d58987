"""The widget tests' model: one output of every kind, slow numbered lines, or a failure."""

import json
import os
import struct
import sys
import time
import zlib

OUT = os.environ.get("MLK_OUTPUTS", "/mlk/outputs")


def params():
    with open(os.environ["MLK_PARAMS"]) as fh:
        return json.load(fh)


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(OUT, name), mode) as fh:
        fh.write(data)


def png(width=4, height=3):
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def outputs():
    rows = params().get("rows", 20000)
    with open(os.path.join(OUT, "table.csv"), "w") as fh:
        fh.write("id,value,word\n")
        for i in range(1, rows + 1):
            value = "" if i % 1000 == 0 else str((i * 7919) % 10007)
            fh.write(f"{i},{value},w{i % 13}\n")
    write("picture.png", png())
    write(
        "page.html",
        "<html><body><h1 id='h'>Report</h1>"
        "<script>document.getElementById('h').textContent='script ran';"
        "try { parent.document.title = 'pwned'; } catch (e) {}"
        "try { parent.postMessage('pwned', '*'); } catch (e) {}</script></body></html>",
    )
    write("details.json", json.dumps({"a": {"b": [1, 2, 3]}, "ok": True}))
    write("notes.txt", "".join(f"note {i}\n" for i in range(1, 201)))
    write("blob.bin", bytes(range(256)) * 4)
    write("_metrics.json", json.dumps({"score": 0.9, "loss": 0.1}))
    write("_result.json", json.dumps({"summary": {"rows": rows, "kinds": ["csv", "png"]}, "done": True}))
    print("mlk:progress 1.0 done")


def count():
    p = params()
    n, pause, label = p.get("lines", 40), p.get("interval", 0.1), p.get("label", "line")
    for i in range(1, n + 1):
        print(f"{label} {i}", flush=True)
        if i % 10 == 0:
            print(f"mlk:progress {i / n:.2f} {i} of {n}", flush=True)
        time.sleep(pause)


def fail():
    for i in range(1, 6):
        print(f"working {i}", flush=True)
    print("cannot go on: the column 'sales' is missing", file=sys.stderr, flush=True)
    write("_failure.txt", "The input has no column named 'sales'.")
    sys.exit(1)


if __name__ == "__main__":
    {"outputs": outputs, "count": count, "fail": fail}[sys.argv[1]]()
