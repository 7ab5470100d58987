"""``python -m model <task>``: run a contract task, or ``bootstrap`` at build time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:1] == ["bootstrap"]:
        parser = argparse.ArgumentParser(prog="python -m model bootstrap")
        parser.add_argument("--artifacts", type=Path, default=Path("/opt/model/artifacts"))
        parser.add_argument("--examples", type=Path, default=Path("/mlk/examples"))
        args = parser.parse_args(argv[1:])
        from model.tasks import bootstrap

        bootstrap(args.artifacts, args.examples)
        return 0

    import model.tasks  # noqa: F401 - registers the @task functions
    from mlrun_kernel.model import main as run_tasks

    return run_tasks(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
