"""``python -m mlrun_kernel.hub HUB_DIR``: print how to log in (scripts/hub.sh start calls it)."""

from __future__ import annotations

import sys
from pathlib import Path

from mlrun_kernel.hub.accounts import LoginInfo, login_lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m mlrun_kernel.hub HUB_DIR", file=sys.stderr)
        return 2
    info = LoginInfo.read(Path(argv[0]))
    if info is None:
        print(f"no {argv[0]}/logins.json yet: start the hub once (scripts/hub.sh start)", file=sys.stderr)
        return 1
    for line in login_lines(info):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
