"""A model with one task per behaviour the executor must handle (tests only)."""

import json
import os
import socket
import sys
import time

OUT = os.environ.get("MLK_OUTPUTS", "/mlk/outputs")


def params():
    with open(os.environ["MLK_PARAMS"]) as fh:
        return json.load(fh)


def write(name, data):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(data if isinstance(data, str) else json.dumps(data))


def status_field(name):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def read_first(*paths):
    for path in paths:
        try:
            with open(path) as fh:
                return fh.read().strip()
        except OSError:
            continue
    return None


def probe_write(path):
    try:
        with open(path, "w") as fh:
            fh.write("x")
        return True
    except OSError:
        return False


def predict():
    p = params()
    inputs = os.environ["MLK_INPUTS"]
    seen = {}
    for name in sorted(os.listdir(inputs)):
        folder = os.path.join(inputs, name)
        seen[name] = sorted(os.listdir(folder))
    print("mlk:progress 0.5 halfway")
    print("to stderr", file=sys.stderr)
    rows = 0
    data = os.path.join(inputs, "data")
    if os.path.isdir(data):
        for file in os.listdir(data):
            with open(os.path.join(data, file)) as fh:
                rows += sum(1 for _ in fh)
    write("copy.txt", f"rows={rows} threshold={p.get('threshold')}\n")
    os.makedirs(os.path.join(OUT, "nested"), exist_ok=True)
    write("nested/deep.txt", "deep\n")
    write("_metrics.json", {"rows": rows, "threshold": p.get("threshold")})
    write(
        "_result.json",
        {
            "uid": os.getuid(),
            "gid": os.getgid(),
            "cap_eff": status_field("CapEff"),
            "cap_bnd": status_field("CapBnd"),
            "no_new_privs": status_field("NoNewPrivs"),
            "pids_max": read_first("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"),
            "memory_max": read_first(
                "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"
            ),
            "interfaces": sorted(os.listdir("/sys/class/net")),
            "env": {k: v for k, v in os.environ.items() if k.startswith("MLK_")},
            "params": p,
            "inputs": seen,
            "input_writable": probe_write(os.path.join(inputs, "data", "new.txt")),
            "root_writable": probe_write("/opt/probe.txt"),
            "tmp_writable": probe_write("/tmp/probe.txt"),
        },
    )
    print("mlk:progress 1.0 done")
    print("done")


def noop():
    pass


def fail():
    write("_failure.txt", "the model could not converge")
    print("about to fail")
    sys.exit(3)


def reject():
    write("_failure.txt", "column 'sepal_length' is missing")
    sys.exit(64)


def lines():
    n = params().get("count", 1_000_000)
    out = sys.stdout
    chunk = "".join(f"line {i}\n" for i in range(1000))
    for _ in range(n // 1000):
        out.write(chunk)
    out.flush()


def symlink():
    os.symlink("/etc/passwd", os.path.join(OUT, "passwd"))
    os.symlink("/etc", os.path.join(OUT, "etc"))
    write("ok.txt", "fine\n")


def overcap():
    block = b"\0" * (1024 * 1024)
    with open(os.path.join(OUT, "big.bin"), "wb") as fh:
        for _ in range(params().get("mib", 30)):
            fh.write(block)
            fh.flush()
            time.sleep(params().get("pause", 0))


def forkbomb():
    children = []
    error = None
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        error = str(exc)
    for pid in children:
        os.kill(pid, 9)
    write("_result.json", {"forked": len(children), "error": error})
    print(f"forked {len(children)} then: {error}")


def network():
    reached = {}
    for host, port in (("1.1.1.1", 53), ("172.17.0.1", 5000), ("127.0.0.1", 5000)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            reached[f"{host}:{port}"] = True
        except OSError as exc:
            reached[f"{host}:{port}"] = str(exc)
    try:
        socket.getaddrinfo("example.com", 80)
        reached["dns"] = True
    except OSError as exc:
        reached["dns"] = str(exc)
    write("_result.json", {"reached": reached, "interfaces": sorted(os.listdir("/sys/class/net"))})


def badjson():
    write("_metrics.json", "{not json")
    write("_result.json", "[1, 2")


def sleep():
    p = params()
    print("sleeping", flush=True)
    for i in range(int(p.get("seconds", 30) * 10)):
        if i % 10 == 0:
            print(f"tick {i // 10}", flush=True)
        time.sleep(0.1)
    write("slept.txt", "yes\n")


def clock():
    """Print the wall clock every ``interval`` seconds, for log latency measurements."""
    p = params()
    for _ in range(p.get("count", 20)):
        print(f"clock {time.time():.6f}", flush=True)
        time.sleep(p.get("interval", 0.1))


if __name__ == "__main__":
    globals()[sys.argv[1]]()
