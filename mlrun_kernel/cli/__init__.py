"""The ``mlk`` command line: thin wrappers over the library's functions.

Each sub-command lives in its own module and registers itself with
``add_parser(subparsers)``; its handler returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlrun_kernel import __version__
from mlrun_kernel.cli import build, datasets, init, metrics, models, push, requests, runs, status, test


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlk", description="Run ML models shipped as Docker images.")
    parser.add_argument("--version", action="version", version=f"mlk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (init, build, test, push, models, datasets, runs, status):
        module.add_parser(sub)
    for module in (metrics, requests):  # evaluations: docs/evaluations.md
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line: say what failed, no trace
        from mlrun_kernel.cli.output import fail

        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
