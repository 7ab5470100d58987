"""Host firewall rules that keep a network-enabled run away from the platform.

A run whose manifest asks for network gets a bridge network of its own
(:mod:`.local`). Docker already keeps bridges apart from each other for
forwarded traffic, but the host itself answers on every one of its
addresses, whatever the interface: the hub API and the model service listen
on the ``docker0`` address, the registry on loopback or a published port.
So for each run's bridge ``mlkr-<run id>`` this module inserts, tagged with
the comment ``mlk-run:<run id>``:

- ``INPUT -i <bridge> -j DROP``: nothing on the host is reachable, on any
  address (hub API, service, proxy API, registry, published ports);
- in ``DOCKER-USER`` (``FORWARD`` when the engine made none): drop what the
  run sends to another Docker bridge (``docker0`` or the engine's default
  bridge, ``br-*``, other runs' ``mlkr-*``, ``docker_gwbridge``) and to the
  operator's blocked ranges (``MLK_RUN_NETWORK_BLOCKED``, link-local
  169.254.0.0/16 by default: cloud metadata), and every connection that
  someone else starts towards the run;
- with ``ip6tables``: no IPv6 in or out of the bridge at all.

What is left is outbound traffic through the host's other interfaces. Rules
are removed with the run's network; :meth:`RunFirewall.sweep` removes the
rules of bridges that no longer exist (an executor killed in between).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from mlrun_kernel.runs.errors import InfrastructureError

COMMENT_PREFIX = "mlk-run:"
BRIDGE_PREFIX = "mlkr-"
DOCKER_BRIDGES = ("br-+", f"{BRIDGE_PREFIX}+", "docker_gwbridge")


class NetworkIsolationError(InfrastructureError):
    """The executor cannot install the rules that isolate a network-enabled run."""


def bridge_name(run_id: str) -> str:
    """The run's bridge interface: ``mlkr-`` and 10 characters of the id (15 is Linux's limit)."""
    return f"{BRIDGE_PREFIX}{run_id[:10]}"


class RunFirewall:
    """Inserts and removes the iptables rules of run networks on this host."""

    def __init__(
        self,
        *,
        iptables: str = "iptables",
        ip6tables: str = "ip6tables",
        blocked: Sequence[str] = ("169.254.0.0/16",),
    ) -> None:
        self.iptables = shutil.which(iptables) or iptables
        self.ip6tables = shutil.which(ip6tables)
        self.blocked = list(blocked)

    # ---------------------------------------------------------------- checks

    def problem(self) -> str | None:
        """Why rules cannot be installed here, or None."""
        if os.geteuid() != 0:
            return "the executor does not run as root, so it cannot install iptables rules"
        if shutil.which(self.iptables) is None:
            return f"{self.iptables} is not installed"
        try:
            self._run(self.iptables, ["-S", "INPUT"])
        except NetworkIsolationError as exc:
            return str(exc)
        return None

    def _run(self, tool: str, args: list[str], *, check: bool = True) -> str:
        try:
            done = subprocess.run([tool, "-w", *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NetworkIsolationError(f"cannot run {tool}: {exc}") from exc
        if check and done.returncode != 0:
            raise NetworkIsolationError(
                f"{Path(tool).name} {' '.join(args)} failed: {done.stderr.strip() or done.returncode}"
            )
        return done.stdout

    def _has_chain(self, chain: str) -> bool:
        return self._run(self.iptables, ["-S", chain], check=False) != ""

    # ---------------------------------------------------------------- rules

    def isolate(self, run_id: str, bridge: str, default_bridge: str = "docker0") -> None:
        """Insert the run's rules (first removing any from before: idempotent).

        Raises :class:`NetworkIsolationError` when they cannot be installed;
        the run must then not start.
        """
        problem = self.problem()
        if problem:
            raise NetworkIsolationError(
                f"cannot isolate the run's network: {problem}. Network runs need the executor "
                "to run as root on the engine's host (or set MLK_ALLOW_NETWORK=false)"
            )
        self.release(run_id)
        tag = ["-m", "comment", "--comment", f"{COMMENT_PREFIX}{run_id}"]
        forward = "DOCKER-USER" if self._has_chain("DOCKER-USER") else "FORWARD"
        rules: list[list[str]] = [["INPUT", "-i", bridge, *tag, "-j", "DROP"]]
        for other in (default_bridge, *DOCKER_BRIDGES):
            rules.append([forward, "-i", bridge, "-o", other, *tag, "-j", "DROP"])
        for cidr in self.blocked:
            rules.append([forward, "-i", bridge, "-d", cidr, *tag, "-j", "DROP"])
        rules.append(
            [forward, "-o", bridge, "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED"]
            + [*tag, "-j", "DROP"]
        )
        for rule in rules:
            self._run(self.iptables, ["-I", *rule])
        if self.ip6tables:
            for rule in (
                ["INPUT", "-i", bridge],
                ["FORWARD", "-i", bridge],
                ["FORWARD", "-o", bridge],
            ):
                self._run(self.ip6tables, ["-I", *rule, *tag, "-j", "DROP"], check=False)

    def release(self, run_id: str) -> None:
        """Remove every rule tagged for ``run_id``; no error when there are none."""
        self._remove(lambda tag: tag == f"{COMMENT_PREFIX}{run_id}")

    def sweep(self) -> list[str]:
        """Remove the rules of run bridges that no longer exist; returns their run ids."""
        dead: set[str] = set()

        def is_dead(tag: str) -> bool:
            run_id = tag.removeprefix(COMMENT_PREFIX)
            if not Path("/sys/class/net", bridge_name(run_id)).exists():
                dead.add(run_id)
                return True
            return False

        if self.problem() is None:
            self._remove(is_dead)
        return sorted(dead)

    def _remove(self, matches: Callable[[str], bool]) -> None:
        tools = [self.iptables] + ([self.ip6tables] if self.ip6tables else [])
        for tool in tools:
            for tag, rule in self._tagged(tool):
                if matches(tag):
                    self._run(tool, ["-D", *rule], check=False)

    def _tagged(self, tool: str) -> list[tuple[str, list[str]]]:
        """``(comment, rule args)`` of every rule of ours in the filter table."""
        try:
            listing = self._run(tool, ["-S"], check=False)
        except NetworkIsolationError:
            return []
        found = []
        for line in listing.splitlines():
            if COMMENT_PREFIX not in line or not line.startswith("-A "):
                continue
            words = shlex.split(line)
            try:
                tag = words[words.index("--comment") + 1]
            except (ValueError, IndexError):
                continue
            if tag.startswith(COMMENT_PREFIX):
                found.append((tag, words[1:]))
        return found
