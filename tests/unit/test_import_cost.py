"""Every `mlk` command imports the whole CLI: nothing in it may build parsers at import.

rfc3987-syntax (pulled in by jsonschema's "format-nongpl" extra) compiles a grammar
when jsonschema is imported, which doubled the time of every command (2.1 s -> 1.0 s
without it). The dependency list names the format checkers one by one instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_does_not_import_modules_that_build_parsers_at_import():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, mlrun_kernel.cli; print(json.dumps(list(sys.modules)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(json.loads(out))
    assert "jsonschema" in loaded  # the CLI does validate; the check below would be vacuous otherwise
    assert "rfc3987_syntax" not in loaded
