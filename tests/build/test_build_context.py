"""What a notebook sends the service as a build context, and what the service accepts."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import anyio
import pytest

from mlrun_kernel.builds.context import ContextRefused, receive, unpack
from mlrun_kernel.expert import ContextError, pack


def _model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mlk.yaml").write_text("image: m\n")
    (folder / "model").mkdir(exist_ok=True)
    (folder / "model" / "tasks.py").write_text("print('hi')\n")
    return folder


def _names(stream) -> list[str]:
    with tarfile.open(fileobj=stream) as tar:
        return sorted(tar.getnames())


def test_pack_sends_the_folder_without_what_dockerignore_and_caches_leave_out(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    (folder / "data.bin").write_bytes(b"x" * 10)
    (folder / ".dockerignore").write_text("data.bin\n")
    (folder / "model" / "__pycache__").mkdir()
    (folder / "model" / "__pycache__" / "tasks.pyc").write_bytes(b"\0")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref")
    assert _names(pack(folder)) == [".dockerignore", "mlk.yaml", "model/tasks.py"]


def test_pack_refuses_a_link_out_of_the_folder(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", folder / "model" / "weights.txt")
    with pytest.raises(ContextError, match="model/weights.txt is a link out of the folder"):
        pack(folder)


def test_pack_refuses_a_folder_over_the_cap(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    (folder / "weights.bin").write_bytes(b"\0" * 4096)
    with pytest.raises(ContextError, match="holds more than 0 MiB"):
        pack(folder, max_bytes=1024)


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            [("mlk.yaml", b"x"), _link("model/w", "/etc/passwd")],
            "'model/w' is a symbolic link (to '/etc/passwd')",
        ),
        ([("mlk.yaml", b"x"), _link("h", "mlk.yaml", tarfile.LNKTYPE)], "'h' is a hard link"),
        ([("mlk.yaml", b"x"), ("../evil", b"x")], "the build context"),
        ([("mlk.yaml", b"x"), ("/abs", b"x")], "the build context"),
        ([("model/tasks.py", b"x")], "has no mlk.yaml at its top"),
        ([("mlk.yaml", b"x"), ("mlk.yaml", b"y")], "'mlk.yaml' appears twice"),
    ],
    ids=["symlink", "hardlink", "dotdot", "absolute", "no-mlk-yaml", "duplicate"],
)
def test_the_service_refuses_an_unsafe_context_and_keeps_nothing(tmp_path: Path, members, message) -> None:
    (tmp_path / "c.tar").write_bytes(_tar(members))
    with pytest.raises(ContextRefused, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        unpack(tmp_path / "c.tar", tmp_path / "ctx", max_bytes=10_000, max_files=100)
    assert caught.value.status == 422
    assert not (tmp_path / "ctx").exists()


def test_the_service_refuses_a_context_over_the_cap_while_it_arrives(tmp_path: Path) -> None:
    async def chunks():
        for _ in range(10):
            yield b"\0" * 1024

    async def main() -> None:
        with pytest.raises(ContextRefused, match="over the 0 MiB limit") as caught:
            await receive(chunks(), tmp_path / "c.tar", 4096)
        assert caught.value.status == 413

    anyio.run(main)
    assert not (tmp_path / "c.tar").exists()


def test_unpacked_bytes_count_against_the_cap_too(tmp_path: Path) -> None:
    (tmp_path / "c.tar").write_bytes(_tar([("mlk.yaml", b"x"), ("big", b"\0" * 5000)]))
    with pytest.raises(ContextRefused) as caught:
        unpack(tmp_path / "c.tar", tmp_path / "ctx", max_bytes=4096, max_files=100)
    assert caught.value.status == 413


def test_a_packed_model_folder_unpacks_as_it_was(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    (tmp_path / "c.tar").write_bytes(pack(folder).read())
    assert unpack(tmp_path / "c.tar", tmp_path / "ctx", max_bytes=10_000, max_files=100) == 2
    assert (tmp_path / "ctx" / "model" / "tasks.py").read_text() == "print('hi')\n"
