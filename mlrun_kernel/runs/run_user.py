"""The user model containers run as: numeric, never root.

The operator sets it once (``MLK_RUN_USER``, default ``65534:65534``). It
must be numbers, because the executor gives the run's outputs folder to that
uid and gid on the host before the container starts, and a name would
resolve inside each image's own ``/etc/passwd`` (to a different uid, or to
none). uid 0 and gid 0 are refused: a model running as root, or in root's
group, could write wherever the container lets root write.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlrun_kernel.runs.errors import RunUserError

DEFAULT = "65534:65534"
_ROOT_NAMES = {"root", "0"}


@dataclass(frozen=True)
class RunUser:
    uid: int
    gid: int

    @property
    def spec(self) -> str:
        """``uid:gid``, as the engine takes it."""
        return f"{self.uid}:{self.gid}"


def parse_run_user(text: str) -> RunUser:
    """``"1000:1000"`` -> ``RunUser(1000, 1000)``; ``"1000"`` -> gid = uid.

    Raises :class:`RunUserError` for root (uid or gid 0, ``root``) and for
    anything that is not ``uid`` or ``uid:gid`` in numbers.
    """
    parts = text.strip().split(":")
    if any(p.strip().lower() in _ROOT_NAMES for p in parts):
        raise RunUserError(
            f"MLK_RUN_USER is {text!r}: model containers must not run as root (uid or gid 0); "
            f"set MLK_RUN_USER to an unprivileged numeric uid:gid, for example {DEFAULT}"
        )
    if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
        raise RunUserError(
            f"MLK_RUN_USER is {text!r}: give a numeric uid:gid, for example {DEFAULT} "
            "(names resolve inside each image, so the outputs folder could not be given to them)"
        )
    uid = int(parts[0])
    gid = int(parts[1]) if len(parts) == 2 else uid
    if uid == 0 or gid == 0:  # "00", "0000:5"
        return parse_run_user("0")
    return RunUser(uid=uid, gid=gid)
