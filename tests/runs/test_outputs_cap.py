"""The outputs cap holds while the model writes, not only when the executor next looks.

A model that writes as fast as the disk takes it (``dd`` from /dev/zero,
without end) must never put more than the cap plus 64 MiB on the host, and
must end "outputs over the cap". Each run's outputs folder is an ext4 image
of the cap's size (see mlrun_kernel/runs/outputs_fs.py), gone when the run
ends; what the model wrote and was kept is then an ordinary folder.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mlrun_kernel.runs import Executor, RunRequest

pytestmark = [pytest.mark.docker, pytest.mark.registry]

MiB = 1024 * 1024
CAP = 64 * MiB


class DiskWatch:
    """Samples, every few milliseconds, what the runs under ``root`` hold on the host's disk
    (allocated blocks, images included) and what the model's files say they hold (sizes,
    through the mounted outputs too); keeps the highest of each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak_allocated = 0
        self.peak_written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def _sample(self) -> None:
        if not self.root.exists():
            return
        host_device = os.stat(self.root).st_dev
        allocated = written = 0
        stack = [str(self.root)]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    stack.append(entry.path)
                    continue
                if info.st_dev == host_device:
                    allocated += info.st_blocks * 512
                if "/outputs/" in entry.path:
                    written += info.st_size
        self.peak_allocated = max(self.peak_allocated, allocated)
        self.peak_written = max(self.peak_written, written)


def test_a_model_writing_at_disk_speed_never_puts_more_than_the_cap_plus_64_mib_on_disk(
    make_executor, tmp_path: Path
):
    executor: Executor = make_executor(outputs_max_bytes=CAP, outputs_check_seconds=2.0)
    with DiskWatch(tmp_path / "runs") as disk:
        info = executor.submit(RunRequest(model="mlk-test-filler", task="fill", owner="ana"))
        info = executor.wait(info.id, timeout=240)
    print(f"peak written {disk.peak_written / MiB:.1f} MiB, allocated {disk.peak_allocated / MiB:.1f} MiB")
    assert (info.state, info.reason) == ("failed", "outputs over the cap of 64 MiB")
    assert disk.peak_written <= CAP + 64 * MiB, disk.peak_written
    assert disk.peak_allocated <= CAP + 64 * MiB, disk.peak_allocated
    assert disk.peak_written > CAP  # it did write at full speed, up to where the cap stopped it
    # Nothing past the cap is kept, and the run holds no mount and no image any more.
    assert info.outputs_bytes <= CAP
    assert not (info.outputs_dir / "fill.bin").exists()
    assert not os.path.ismount(info.outputs_dir)
    assert not (info.outputs_dir.parent / "outputs.fs").exists()


def test_outputs_of_a_run_within_the_cap_are_kept_as_a_plain_folder(make_executor, csv_file: Path):
    from mlrun_kernel.runs import LocalInput

    executor: Executor = make_executor(outputs_max_bytes=CAP)
    info = executor.submit(
        RunRequest(
            model="mlk-test-behaving", task="predict", owner="ana", inputs={"data": LocalInput(csv_file)}
        )
    )
    info = executor.wait(info.id, timeout=120)
    assert info.state == "succeeded", info.reason
    assert {f["path"] for f in info.outputs} >= {"copy.txt", "nested/deep.txt"}
    assert (info.outputs_dir / "nested" / "deep.txt").read_text() == "deep\n"
    assert info.metrics == {"rows": 3.0, "threshold": 0.5}
    assert not os.path.ismount(info.outputs_dir)
    assert not (info.outputs_dir.parent / "outputs.fs").exists()
    lines = [line.text for line in executor.logs(info.id)]
    assert not any("outputs cap measured every" in text for text in lines)


def test_a_plain_outputs_folder_is_measured_and_the_log_says_so(make_executor):
    executor: Executor = make_executor(outputs_filesystem="folder")
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="noop", owner="ana"))
    info = executor.wait(info.id, timeout=120)
    assert info.state == "succeeded", info.reason
    lines = [line.text for line in executor.logs(info.id)]
    expected = "outputs cap measured every 0.5 s (no size-limited file system: MLK_OUTPUTS_FILESYSTEM=folder)"
    assert any(line.endswith(expected) for line in lines), lines


def test_an_outputs_file_system_left_by_a_dead_executor_is_discarded_at_reconcile(make_executor):
    from mlrun_kernel.runs.outputs_fs import CappedOutputs

    executor: Executor = make_executor(start=False)
    left = CappedOutputs(executor.root / "0123456789abcdef")  # a run this store no longer knows
    left.run_dir.mkdir(parents=True)
    left.prepare(CAP, 65534, 65534)
    assert left.mounted
    executor.start()  # reconciles at once
    assert not left.mounted
    assert not left.image.exists()
