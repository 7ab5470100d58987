"""``python -m model <task>``: run a contract task, or ``make-example`` at build time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:1] == ["make-example"]:
        parser = argparse.ArgumentParser(prog="python -m model make-example")
        parser.add_argument("--examples", type=Path, default=Path("/mlk/examples"))
        args = parser.parse_args(argv[1:])
        from model.example import write_example

        print(f"wrote {write_example(args.examples)}")
        return 0

    from mlrun_kernel.model import run_task
    from model.tasks import TASKS

    return run_task(TASKS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
