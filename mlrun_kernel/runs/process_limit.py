"""Did a container hit its pids limit? The kernel log says so, after the container is gone.

When the pids controller refuses a fork, the kernel counts it in the
cgroup's ``pids.events`` (``max N``) and, the first time per cgroup, logs
``cgroup: fork rejected by pids controller in <cgroup path>``. The counter
goes with the cgroup, which the engine removes the moment the container
exits: a model that forks to its limit and exits at once leaves nothing
there to read (and ``docker inspect`` does not report it). The log line
stays in the kernel's ring buffer, and its path names the container
(``/docker/<id>`` with the cgroupfs driver, ``.../docker-<id>.scope`` with
systemd's), so :func:`fork_rejected` reads ``/dev/kmsg`` and remembers which
cgroups were refused a fork.

Reading ``/dev/kmsg`` needs root or ``CAP_SYSLOG`` when
``kernel.dmesg_restrict`` is 1; without it :func:`fork_rejected` answers
``None`` (unknown) and the run's reason is the plain exit code, as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict

log = logging.getLogger(__name__)

KMSG = "/dev/kmsg"
_MARK = "fork rejected by pids controller in "
_KEEP = 10_000
"""Refused cgroups remembered (oldest forgotten first): far more than runs in flight."""


class _KernelLog:
    """One reader of the kernel log per process, shared by every executor in it."""

    def __init__(self, path: str = KMSG) -> None:
        self.path = path
        self._fd: int | None = None
        self._unreadable = False
        self._lock = threading.Lock()
        self._rejected: OrderedDict[str, None] = OrderedDict()

    def _open(self) -> int | None:
        if self._fd is None and not self._unreadable:
            try:
                # From the oldest record the ring buffer still holds: a run adopted
                # after a restart is judged by what happened before it, too.
                self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                self._unreadable = True
                log.warning(
                    "cannot read the kernel log %s (%s): runs that hit their pids limit "
                    "will not say so in their reason",
                    self.path,
                    exc.strerror,
                )
        return self._fd

    def _read_new(self, fd: int) -> None:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                return  # read up to now
            except BrokenPipeError:
                continue  # records we had not read yet were overwritten; go on from the oldest left
            except OSError as exc:
                log.warning("reading the kernel log failed: %s", exc)
                return
            if not record:
                return
            text = record.decode("utf-8", errors="replace")
            _, _, message = text.partition(";")
            at = message.find(_MARK)
            if at >= 0:
                cgroup = message[at + len(_MARK) :].split("\n", 1)[0].strip()
                self._rejected[cgroup] = None
                while len(self._rejected) > _KEEP:
                    self._rejected.popitem(last=False)

    def fork_rejected(self, container_id: str) -> bool | None:
        with self._lock:
            fd = self._open()
            if fd is None:
                return None
            self._read_new(fd)
            return any(container_id in cgroup for cgroup in self._rejected)


_KERNEL_LOG = _KernelLog()


def fork_rejected(container_id: str) -> bool | None:
    """Whether the container (its full engine id) was refused a fork by its pids limit.

    ``None`` when the kernel log cannot be read. Call it after the container
    exited; its cgroup may already be gone.
    """
    if len(container_id) < 12:
        return None  # too short to name one container's cgroup
    return _KERNEL_LOG.fork_rejected(container_id)
