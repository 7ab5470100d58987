"""``python -m mlrun_kernel.runs``: an executor process that runs the queue until SIGTERM.

Options come from the environment (``MLK_DATABASE_URL``, ``MLK_RUNS_DIR``,
``MLK_EXECUTOR_NAME``, ``MLK_RUN_BACKEND``...); ``--registry`` overrides the
registry host images are pulled from.
"""

from __future__ import annotations

import argparse
import signal
import threading

from mlrun_kernel.config import SettingsError
from mlrun_kernel.runs.errors import RunUserError
from mlrun_kernel.runs.executor import Executor
from mlrun_kernel.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mlrun_kernel.runs")
    parser.add_argument("--store", help="store URL (default MLK_DATABASE_URL or the SQLite file)")
    parser.add_argument("--root", help="run storage folder (default MLK_RUNS_DIR)")
    parser.add_argument("--registry", help="registry host:port images are pulled from")
    parser.add_argument("--name", help="executor name (default MLK_EXECUTOR_NAME)")
    args = parser.parse_args()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        executor = Executor(
            open_store(args.store), root=args.root, registry=args.registry, name=args.name
        ).start()
    except (SettingsError, RunUserError) as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    print(f"executor {executor.name} ready", flush=True)
    done.wait()
    executor.stop()


if __name__ == "__main__":
    main()
