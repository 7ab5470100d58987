"""``mlk test IMAGE [--json]``: run the image's manifest examples through the platform's executor.

Each example runs as a user's run would (same hardening, limits and network
rule); the contract is checked and a report printed per example. The result
is recorded against the image id, which ``mlk push`` asks for.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlrun_kernel.builds.contract import ContractReport, contract_test
from mlrun_kernel.builds.records import record_test
from mlrun_kernel.cli.platform import me


def add_parser(sub: Any) -> None:
    p = sub.add_parser("test", help="contract-test a built model image by running its examples")
    p.add_argument("image", help="the image, e.g. my-model:0.1.0 (as `mlk build` tagged it)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="do not stream the runs' logs")
    p.set_defaults(handler=run)


def print_report(report: ContractReport) -> None:
    print(f"{report.reference} ({report.image_id[:19]}): {len(report.examples)} example(s)")
    for result in report.examples:
        mark = "PASS" if result.passed else "FAIL"
        metrics = ", ".join(
            f"{k}={v:g}" for k, v in (result.metrics or {}).items() if isinstance(v, int | float)
        )
        title = result.title or f"example {result.index}"
        tail = f"  {metrics}" if metrics else ""
        print(f"  {mark}  {result.task:<10} {title}  ({result.seconds:.1f} s){tail}")
        for problem in result.problems:
            print(f"        {problem}")
    for problem in report.problems:
        print(f"  FAIL  {problem}")
    passed = sum(r.passed for r in report.examples)
    verdict = "passed" if report.passed else "FAILED"
    print(f"{verdict}: {passed}/{len(report.examples)} example(s); recorded against {report.image_id[:19]}")


def run(args: argparse.Namespace) -> int:
    from mlrun_kernel.cli.platform import NotRemote
    from mlrun_kernel.config import client_settings
    from mlrun_kernel.store import open_store

    if client_settings().service_url:
        raise NotRemote(
            "`mlk test` needs a Docker engine; through the model "
            "service `mlk build FOLDER --push` builds, tests and pushes in one go"
        )

    def show(line: str) -> None:
        print(f"  {line}", file=sys.stderr)

    report = contract_test(args.image, owner=me(), on_log=None if args.quiet or args.json else show)
    store = open_store()
    try:
        record_test(
            store,
            image_id=report.image_id,
            reference=report.reference,
            passed=report.passed,
            report=json.loads(json.dumps(report.to_data(), default=str)),
            who=me(),
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.to_data(), indent=2, default=str))
    else:
        print_report(report)
    return 0 if report.passed else 1
