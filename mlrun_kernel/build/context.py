"""The build context sent to the Docker engine, assembled without touching the folder.

Besides the folder's files (minus ``.dockerignore`` matches) the context always
carries ``mlk-build-ca.pem``: the CA bundle that ``pip install`` inside the
build must trust. Behind a TLS-intercepting proxy that is the company bundle;
elsewhere it is the machine's (or certifi's) bundle, so Dockerfiles can use it
unconditionally.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths

BUILD_CA_FILENAME = "mlk-build-ca.pem"


def _read_dockerignore(root: Path) -> list[str]:
    ignore = root / ".dockerignore"
    if not ignore.is_file():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def default_ca_bundle() -> Path:
    """The configured build CA bundle (MLK_BUILD_CA_BUNDLE, PIP_CERT, ...), else certifi's."""
    from mlrun_kernel.config import settings

    configured = settings().build_ca_bundle
    if configured is not None:
        return configured
    import certifi

    return Path(certifi.where())


def context_tar(
    root: Path,
    *,
    dockerfile: str = "Dockerfile",
    ca_bundle: Path | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> IO[bytes]:
    """A seekable tar of ``root`` plus the CA bundle and ``extra_files``.

    Spooled to disk past 64 MiB, so a large context never sits in memory.
    """
    root = root.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"build context {root} is not a folder")
    included = sorted(exclude_paths(str(root), _read_dockerignore(root), dockerfile=dockerfile))
    extras = dict(extra_files or {})
    extras[BUILD_CA_FILENAME] = (ca_bundle or default_ca_bundle()).read_bytes()

    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 - returned open
    with tarfile.open(fileobj=spool, mode="w") as tar:
        for rel in included:
            if rel in extras:
                continue
            tar.add(root / rel, arcname=rel, recursive=False)
        for name, content in extras.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    spool.seek(0)
    return spool
