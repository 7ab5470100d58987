"""Models that push the executor's hardening (tests/runs/test_run_hardening.py only)."""

import json
import os
import sys
import time

OUT = os.environ.get("MLK_OUTPUTS", "/mlk/outputs")
INPUTS = os.environ.get("MLK_INPUTS", "/mlk/inputs")


def write(name, data):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(data if isinstance(data, str) else json.dumps(data))


def forkbomb():
    """Every process forks as fast as it can; the first refused fork ends the model (exit 3)."""
    top = os.getpid()
    while True:
        try:
            os.fork()
        except OSError as exc:
            if os.getpid() == top:
                write("_failure.txt", f"fork failed: {exc}")
                sys.exit(3)
            time.sleep(0.05)


def forkbomb_forever():
    """Every process forks as fast as it can, for ever: only the time limit ends it."""
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)


def forkbomb_survivor():
    """Forks until refused, then cleans up and exits 0: the run succeeds, with a warning."""
    children = []
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError:
        pass
    for pid in children:
        os.kill(pid, 9)
    write("_result.json", {"forked": len(children)})


def nested():
    """10,000 folders, each inside the last (made with relative paths: no path is too long here)."""
    write("ok.txt", "fine\n")
    os.chdir(OUT)
    for _ in range(10_000):
        os.mkdir("d")
        os.chdir("d")
    with open("bottom.txt", "w") as fh:
        fh.write("the bottom\n")


def inputs():
    """Report the files under /mlk/inputs/a and /mlk/inputs/b, with their first line."""
    seen = {}
    for name in ("a", "b"):
        folder = os.path.join(INPUTS, name)
        if not os.path.isdir(folder):
            seen[name] = None
            continue
        seen[name] = {}
        for file in sorted(os.listdir(folder)):
            with open(os.path.join(folder, file)) as fh:
                seen[name][file] = fh.readline().strip()
    write("_result.json", seen)
    write("seen.txt", json.dumps(seen, sort_keys=True))


def whoami():
    """Write to the outputs folder and say who wrote it."""
    write("hello.txt", "hello\n")
    folder = os.stat(OUT)
    write(
        "_result.json",
        {"uid": os.getuid(), "gid": os.getgid(), "outputs_owner": [folder.st_uid, folder.st_gid]},
    )


if __name__ == "__main__":
    globals()[sys.argv[1]]()
