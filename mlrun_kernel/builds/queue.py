"""Builds through the model service: a queue like the runs', for experts without a Docker socket.

A build is one request to go from a build context to a published image:
``queued -> building -> testing -> pushing -> succeeded``, or ``failed``,
``cancelled``, ``timed_out`` with the reason. The service's worker threads
take builds oldest first; each user may have ``builds_per_user`` queued or
running (more are refused), and a build past ``build_timeout_seconds`` stops.
Every step is the CLI's own function: :func:`~mlrun_kernel.build.build_model`,
:func:`~mlrun_kernel.builds.contract.contract_test` (recorded against the
image id) and :func:`~mlrun_kernel.builds.publish.publish`, so a service build
publishes exactly what ``mlk build && mlk test && mlk push`` would, and nothing
when any step fails.

The log is a file per build (``<data>/builds/<id>/build.log``), one line per
line, read by line number (``lines(after=n)``) so a client resumes where it
left off. Builds left running by a stopped service are failed at start.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from mlrun_kernel.builds.settings import BuildSettings, build_settings
from mlrun_kernel.registry.access import RegistryAccess
from mlrun_kernel.store import Store
from mlrun_kernel.store.models.builds import ModelBuild
from mlrun_kernel.store.types import utcnow

ACTIVE = ("queued", "building", "testing", "pushing")
TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")
_STEP = re.compile(r"^Step (\d+)/(\d+) :")


class BuildRefused(RuntimeError):
    """A build cannot be queued (too many, not found, not cancellable); ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Stop(Exception):
    """Raised inside a build's log sink to end it: cancelled or out of time."""

    def __init__(self, state: str, reason: str) -> None:
        super().__init__(reason)
        self.state = state


@dataclass(frozen=True)
class BuildInfo:
    """A service build: where it stands, what it made, its contract-test report once tested."""

    id: str
    owner: str
    state: str
    reason: str | None
    image: str | None
    version: str | None
    image_id: str | None
    digest: str | None
    progress: float | None
    context_bytes: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    queue_position: int | None
    log_lines: int
    report: dict[str, Any] | None


@dataclass(frozen=True)
class BuildLine:
    """One line of a build's log; ``seq`` counts from 1."""

    seq: int
    text: str


@dataclass
class _Phase:
    """Where a build is, for its progress: the Dockerfile's steps move it from ``low`` to ``high``."""

    name: str = "building"
    stage: int = 0
    low: float = 0.02
    high: float = 0.6
    progress: float = 0.02
    last_check: float = 0.0


class BuildQueue:
    """Queued service builds and the worker threads that carry them out."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        *,
        access: Callable[[], RegistryAccess],
        settings: BuildSettings | None = None,
    ) -> None:
        self.store = store
        self.root = Path(data_dir) / "builds"
        self.access = access
        self.settings = settings or build_settings()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()

    # ------------------------------------------------------------------ queue

    def folder(self, build_id: str) -> Path:
        return self.root / build_id

    def new_id(self, owner: str) -> str:
        """A build id for ``owner``, refused (429) when they already have enough builds going."""
        with self.store.session() as s:
            active = s.scalar(
                select(func.count())
                .select_from(ModelBuild)
                .where(ModelBuild.owner == owner, ModelBuild.state.in_(ACTIVE))
            )
        if (active or 0) >= self.settings.builds_per_user:
            raise BuildRefused(
                f"{owner} already has {active} build(s) queued or running, the most allowed "
                f"(MLK_BUILDS_PER_USER={self.settings.builds_per_user}): wait for one, or cancel it",
                429,
            )
        build_id = secrets.token_hex(8)
        self.folder(build_id).mkdir(parents=True)
        return build_id

    def submit(self, build_id: str, owner: str, context_bytes: int, options: dict[str, Any]) -> BuildInfo:
        """Queue the build whose context is unpacked in ``folder(build_id)/context``."""
        with self.store.session() as s:
            s.add(
                ModelBuild(
                    id=build_id,
                    owner=owner,
                    via="service",
                    state="queued",
                    context_bytes=context_bytes,
                    options=dict(options),
                    progress=0.0,
                )
            )
        self._log(build_id, f"queued: {context_bytes} bytes of build context from {owner}")
        self._wake.set()
        return self.get(build_id)

    def discard(self, build_id: str) -> None:
        """Forget a build whose context was refused: nothing stays."""
        shutil.rmtree(self.folder(build_id), ignore_errors=True)

    def get(self, build_id: str) -> BuildInfo:
        with self.store.session() as s:
            row = s.get(ModelBuild, build_id)
            if row is None:
                raise BuildRefused(f"no build {build_id}", 404)
            position = None
            if row.state == "queued":
                position = 1 + (
                    s.scalar(
                        select(func.count())
                        .select_from(ModelBuild)
                        .where(ModelBuild.state == "queued", ModelBuild.created_at < row.created_at)
                    )
                    or 0
                )
            return BuildInfo(
                id=row.id,
                owner=row.owner,
                state=row.state,
                reason=row.reason,
                image=row.image,
                version=row.version,
                image_id=row.image_id,
                digest=row.digest,
                progress=row.progress,
                context_bytes=row.context_bytes,
                created_at=row.created_at,
                started_at=row.started_at,
                finished_at=row.finished_at,
                duration_seconds=row.duration_seconds,
                queue_position=position,
                log_lines=self._count_lines(row.id),
                report=(row.options or {}).get("report"),
            )

    def recent(self, owner: str | None = None, limit: int = 50) -> list[BuildInfo]:
        """Builds newest first (``owner``'s only, when given)."""
        with self.store.session() as s:
            query = select(ModelBuild.id).order_by(ModelBuild.created_at.desc()).limit(limit)
            if owner is not None:
                query = query.where(ModelBuild.owner == owner)
            ids = list(s.scalars(query))
        return [self.get(i) for i in ids]

    def cancel(self, build_id: str, by: str) -> BuildInfo:
        info = self.get(build_id)
        if info.state in TERMINAL:
            raise BuildRefused(f"build {build_id} has already ended ({info.state})", 409)
        with self.store.session() as s:
            if info.state == "queued":
                s.execute(
                    update(ModelBuild)
                    .where(ModelBuild.id == build_id, ModelBuild.state == "queued")
                    .values(state="cancelled", reason=f"cancelled by {by}", finished_at=utcnow())
                )
            s.execute(update(ModelBuild).where(ModelBuild.id == build_id).values(cancel_requested=True))
        self._log(build_id, f"cancel requested by {by}")
        self._notify()
        return self.get(build_id)

    # ------------------------------------------------------------------ log

    def _log_path(self, build_id: str) -> Path:
        return self.folder(build_id) / "build.log"

    def _log(self, build_id: str, text: str) -> None:
        path = self._log_path(build_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            for line in text.splitlines() or [""]:
                out.write(line.replace("\r", "") + "\n")
        self._notify()

    def _count_lines(self, build_id: str) -> int:
        path = self._log_path(build_id)
        if not path.is_file():
            return 0
        with path.open("rb") as fh:
            return sum(1 for _ in fh)

    def lines(self, build_id: str, *, after: int = 0, limit: int = 10_000) -> list[BuildLine]:
        """Log lines numbered from 1; those after line ``after``."""
        path = self._log_path(build_id)
        if not path.is_file():
            return []
        out: list[BuildLine] = []
        with path.open(encoding="utf-8", errors="replace") as fh:
            for seq, line in enumerate(fh, start=1):
                if seq > after:
                    out.append(BuildLine(seq, line.rstrip("\n")))
                    if len(out) >= limit:
                        break
        return out

    def wait_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ workers

    def start(self) -> BuildQueue:
        with self.store.session() as s:  # builds a stopped service left behind cannot go on
            s.execute(
                update(ModelBuild)
                .where(ModelBuild.state.in_(ACTIVE[1:]))
                .values(state="failed", reason="the service stopped during the build", finished_at=utcnow())
            )
        for index in range(self.settings.build_workers):
            thread = threading.Thread(target=self._loop, name=f"mlk-build-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, wait: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=wait)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            build_id = self._claim()
            if build_id is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._carry_out(build_id)

    def _claim(self) -> str | None:
        with self.store.session() as s:
            candidate = s.scalar(
                select(ModelBuild.id)
                .where(ModelBuild.state == "queued")
                .order_by(ModelBuild.created_at)
                .limit(1)
            )
            if candidate is None:
                return None
            claimed = s.execute(
                update(ModelBuild)
                .where(ModelBuild.id == candidate, ModelBuild.state == "queued")
                .values(state="building", started_at=utcnow(), progress=0.02)
            )
            return candidate if getattr(claimed, "rowcount", 0) else None

    def _set(self, build_id: str, **values: Any) -> None:
        with self.store.session() as s:
            s.execute(update(ModelBuild).where(ModelBuild.id == build_id).values(**values))
        self._notify()

    def _cancel_requested(self, build_id: str) -> bool:
        with self.store.session() as s:
            return bool(s.scalar(select(ModelBuild.cancel_requested).where(ModelBuild.id == build_id)))

    def _carry_out(self, build_id: str) -> None:
        from mlrun_kernel.build import BuildError, build_model, load_build_file
        from mlrun_kernel.builds.contract import ContractTestError, contract_test
        from mlrun_kernel.builds.publish import PublishRefused, publish
        from mlrun_kernel.builds.records import record_test
        from mlrun_kernel.spec import SpecError

        started = time.monotonic()
        deadline = started + self.settings.build_timeout_seconds
        with self.store.session() as s:
            row = s.get(ModelBuild, build_id)
            assert row is not None
            owner, options = row.owner, dict(row.options or {})
        folder = self.folder(build_id) / "context"
        phase = _Phase()

        def sink(line: str) -> None:
            self._log(build_id, line)
            step = _STEP.match(line)
            if step and phase.name == "building":
                n, m = int(step.group(1)), int(step.group(2))
                if n == 1:  # the Dockerfile's first step, then the finishing layer's
                    phase.stage += 1
                    phase.low, phase.high = (0.02, 0.6) if phase.stage == 1 else (0.6, 0.64)
                value = round(phase.low + (phase.high - phase.low) * n / max(m, 1), 3)
                if value > phase.progress:  # never backwards
                    phase.progress = value
                    self._set(build_id, progress=value)
            now = time.monotonic()
            if now > deadline:
                raise _Stop("timed_out", f"timed out after {self.settings.build_timeout_seconds} s")
            if now - phase.last_check > 1.0:
                phase.last_check = now
                if self._cancel_requested(build_id):
                    raise _Stop("cancelled", "cancelled")

        try:
            spec = load_build_file(folder)
            self._set(build_id, image=spec.image, version=spec.metadata.version)
            access = self.access()
            sink(f"building {spec.image}:{spec.metadata.version}")
            built = build_model(folder, registry=access, on_log=sink)
            self._set(
                build_id, state="testing", image_id=built.image_id, progress=0.65, revision=built.revision
            )
            phase.name = "testing"
            sink(f"contract test of {built.image}")
            report = contract_test(built.image, owner=owner, on_log=sink)
            plain = json.loads(json.dumps(report.to_data(), default=str))
            record_test(
                self.store,
                image_id=report.image_id,
                reference=report.reference,
                passed=report.passed,
                report=plain,
                who=owner,
            )
            self._set(build_id, options={**options, "report": plain})
            if not report.passed:
                reasons = [f"{e.task}: {p}" for e in report.examples for p in e.problems] + report.problems
                raise _Stop("failed", "the contract test failed: " + "; ".join(reasons))
            sink("contract test passed")
            self._set(build_id, state="pushing", progress=0.9)
            phase.name = "pushing"
            published = publish(
                built.image,
                store=self.store,
                who=owner,
                force=bool(options.get("force")),
                access=access,
                on_log=sink,
            )
            sink(f"published {', '.join(published.references)} ({published.digest})")
            self._finish(build_id, "succeeded", None, started, digest=published.digest)
        except _Stop as stop:
            self._finish(build_id, stop.state, str(stop), started)
        except (SpecError, BuildError, ContractTestError, PublishRefused) as exc:
            self._finish(build_id, "failed", str(exc), started)
        except Exception as exc:  # noqa: BLE001 - a build never takes the worker down with it
            self._finish(build_id, "failed", f"{type(exc).__name__}: {exc}", started)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            (self.folder(build_id) / "context.tar").unlink(missing_ok=True)

    def _finish(self, build_id: str, state: str, reason: str | None, started: float, **values: Any) -> None:
        if reason:
            self._log(build_id, f"{state}: {reason}")
        else:
            self._log(build_id, state)
        self._set(
            build_id,
            state=state,
            reason=reason,
            finished_at=utcnow(),
            duration_seconds=round(time.monotonic() - started, 2),
            progress=1.0 if state == "succeeded" else None,
            **values,
        )
