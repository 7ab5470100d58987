"""``python -m mlrun_kernel.hub.culler --timeout=…``: jupyterhub-idle-culler that stops when told.

The hub stops its services with SIGINT, then SIGTERM, waiting for each. The hub
runs in the background (``scripts/hub.sh``), where SIGINT arrives ignored, and
the culler installs no handler of its own, so every hub stop waited out the
timeouts (half a minute). The culler keeps no state: on either signal it exits
at once.
"""

from __future__ import annotations

import os
import signal
from typing import Any


def _exit_now(*_: Any) -> None:
    os._exit(0)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_now)
    from jupyterhub_idle_culler import main as cull

    cull()


if __name__ == "__main__":
    main()
