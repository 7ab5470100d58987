"""What every model container gets, whichever backend runs it: one declaration of the hardening.

The local engine and Swarm express these through different APIs (host config
versus a service's task template), but the values come from here, so the two
cannot drift apart:

- every capability dropped, ``no-new-privileges`` (local engine; the Swarm
  service API 1.41 has no per-service option: see docs/runs.md);
- an init process reaping the model's children;
- a read-only root file system with a small writable ``/tmp`` (tmpfs,
  ``nosuid``/``nodev``), so a model can write scratch files but not change
  its image;
- the run's user, memory (no swap), CPU and pids limits, from the
  :class:`~.base.ContainerSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024

CAP_DROP = ["ALL"]
SECURITY_OPT = ["no-new-privileges:true"]
TMP_PATH = "/tmp"


@dataclass(frozen=True)
class Hardening:
    """The container hardening a backend applies; the defaults are the contract's."""

    read_only_rootfs: bool = True
    tmp_size_bytes: int = 256 * MiB

    def tmpfs_options(self) -> str:
        """The local engine's ``--tmpfs /tmp:<options>``."""
        return f"rw,nosuid,nodev,size={self.tmp_size_bytes}"


def parse_size(text: str) -> int:
    """``256m`` -> bytes; ``1g``, ``512k`` and plain byte counts too."""
    text = text.strip().lower().rstrip("b")
    units = {"k": 1024, "m": MiB, "g": 1024 * MiB}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)
