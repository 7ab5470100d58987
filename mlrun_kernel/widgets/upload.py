"""Browser-direct, resumable dataset uploads: the file goes from the browser to the service.

The kernel never holds the file. ``DatasetUpload`` is an ipyvuetify template
whose script reads the chosen ``File`` with ``File.slice`` and sends each slice
with ``PATCH <signed URL>&offset=N`` straight to the model service (through
the hub's proxy: the signed URL is a path, so the browser sends it to the
page's own origin, ``/services/models/...``; no token is ever in the page).
The kernel only does what needs the user's token, in ``UploadSteps``:

- ``begin``: open an upload (or find the one to resume) and sign a URL for it;
- ``renew``: a fresh signed URL and the service's offset (URLs live
  ``MLK_SIGNED_URL_SECONDS``; a 403 or a dropped network asks for one);
- ``finish``: make the uploaded bytes a dataset version;
- ``cancel``: abort the upload and free its bytes.

Resuming: the script keeps ``{upload id}`` in ``localStorage`` under the
file's name, size and ``lastModified``. After a reload (a new kernel, in
Voilà) the user picks the same file again; ``begin`` is given the stored id,
asks the service how far it got (``received``) and the script continues from
there. A network drop mid-chunk is retried from the last acknowledged offset;
a ``409`` answer carries the service's ``expected_offset``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipyvuetify as v
import traitlets

from mlrun_kernel.client import Client, Conflict, DatasetVersion, NotFound
from mlrun_kernel.widgets.common import Notice, apply_theme, explain
from mlrun_kernel.widgets.upload_vue import TEMPLATE

DEFAULT_CHUNK_BYTES = 256 * 1024 * 1024  # one PATCH per 256 MiB; the service checkpoints within it


def default_dataset_name(filename: str) -> str:
    """``Sales 2024.csv`` -> ``Sales 2024``: what the name field starts with."""
    stem = filename.rsplit("/", 1)[-1]
    if "." in stem.lstrip("."):
        stem = stem.rsplit(".", 1)[0]
    return stem.strip() or "dataset"


class UploadSteps:
    """What the kernel does for a browser upload, with the user's token; no bytes pass here.

    Plain methods returning plain dicts, so tests drive them without a browser
    (and send the chunks themselves, as the browser does).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def _signed(self, upload_id: str, offset: int, *, resumed: bool, note: str = "") -> dict[str, Any]:
        signed = self.client.upload_url(upload_id)
        return {
            "id": upload_id,
            "url": signed["url"],
            "expires": signed["expires"],
            "offset": offset,
            "resumed": resumed,
            "note": note,
        }

    def begin(self, filename: str, size: int, resume: str | None = None) -> dict[str, Any]:
        """Where the browser sends ``filename``: ``{id, url, offset, resumed, note}``.

        ``resume`` is the id the browser kept for this file; it is used only if
        the service still has that upload, for a file of this name and size.
        """
        note = ""
        if resume:
            try:
                status = self.client.upload_status(resume)
            except NotFound:
                status = None
                note = "The service no longer had the earlier part of this upload, so it starts over."
            if status is not None:
                if status["filename"] == filename and status["expected_size"] == size:
                    return self._signed(resume, status["received"], resumed=True)
                note = "The stored upload was for another file, so this one starts from the beginning."
        upload = self.client.start_upload(filename, size)
        return self._signed(upload["id"], upload["received"], resumed=False, note=note)

    def renew(self, upload_id: str) -> dict[str, Any]:
        """A fresh signed URL, and the offset the service has (after a 403 or a network drop)."""
        status = self.client.upload_status(upload_id)
        return self._signed(upload_id, status["received"], resumed=True)

    def finish(self, upload_id: str, name: str) -> DatasetVersion:
        """The uploaded bytes as the next version of the dataset ``name``."""
        return self.client.complete_upload(upload_id, name)

    def cancel(self, upload_id: str, *, wait: float = 15.0) -> None:
        """Abort the upload; one already gone is fine.

        The browser has just dropped the chunk in flight, and the service holds
        the upload until it notices (409, busy): ask again for up to ``wait`` s.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                self.client.abort_upload(upload_id)
                return
            except NotFound:
                return
            except Conflict:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class DatasetUpload(v.VuetifyTemplate):
    """Pick a file, name the dataset, send it from the browser; progress, rate, time left, cancel.

    ``on_uploaded(callback)`` is told the new ``DatasetVersion``. ``progress``
    holds what the browser last reported (``sent``, ``total``, ``rate``), a few
    times a second at most, for tests and benchmarks.
    """

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    dataset_name = traitlets.Unicode("").tag(sync=True)
    chunk_bytes = traitlets.Int(DEFAULT_CHUNK_BYTES).tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)  # the kernel is on a step (begin, finish, ...)
    phase = traitlets.Unicode("idle").tag(sync=True)  # idle, sending, completing, done, cancelled, failed
    result = traitlets.Unicode("").tag(sync=True)  # the plain-words line shown after a step

    def __init__(self, client: Client, **kwargs: Any) -> None:
        apply_theme()
        self.notice = Notice()
        super().__init__(components={"mlk-notice": self.notice}, **kwargs)
        self.steps = UploadSteps(client)
        self.upload_id: str | None = None
        self.progress: dict[str, Any] = {}
        self.version: DatasetVersion | None = None
        self._uploaded: list[Callable[[DatasetVersion], None]] = []

    def on_uploaded(self, callback: Callable[[DatasetVersion], None]) -> None:
        self._uploaded.append(callback)

    def _step(self, doing: str, step: Callable[[], Any]) -> Any:
        """Run a kernel step; a failure is shown in plain words and told to the script."""
        self.busy = True
        self.notice.clear()
        try:
            return step()
        except Exception as exc:  # every failure becomes a message (common.explain)
            self.notice.show(explain(exc, doing))
            self.send({"method": "failed", "args": [explain(exc, doing).title]})
            return None
        finally:
            self.busy = False

    # ---- events from the script (``this.begin(...)`` in upload.vue) ---------------

    def vue_chosen(self, data: dict[str, Any]) -> None:
        """A file was picked: name the dataset after it unless the user typed a name."""
        if not self.dataset_name.strip():
            self.dataset_name = default_dataset_name(str(data.get("name") or ""))
        self.notice.clear()

    def vue_begin(self, data: dict[str, Any]) -> None:
        name = str(data["name"])
        if not self.dataset_name.strip():
            self.dataset_name = default_dataset_name(name)
        answer = self._step(
            f"start uploading {name}",
            lambda: self.steps.begin(name, int(data["size"]), data.get("resume") or None),
        )
        if answer is not None:
            self.upload_id = answer["id"]
            self.phase = "sending"
            self.send({"method": "go", "args": [answer]})

    def vue_renew(self, data: dict[str, Any]) -> None:
        answer = self._step("continue the upload", lambda: self.steps.renew(str(data["id"])))
        if answer is not None:
            self.send({"method": "go", "args": [answer]})

    def vue_progress(self, data: dict[str, Any]) -> None:
        self.progress = {**data, "at": time.time()}

    def vue_finished(self, data: dict[str, Any]) -> None:
        upload_id = str(data["id"])
        name = self.dataset_name.strip()
        self.phase = "completing"
        version = self._step(f"store {name!r}", lambda: self.steps.finish(upload_id, name))
        if version is None:
            self.phase = "uploaded"  # the bytes are in: fix the name and store again
            return
        self.version = version
        self.upload_id = None
        self.phase = "done"
        self.result = f"Stored {version['ref']} version {version['version']}."
        self.send({"method": "stored", "args": [version["ref"], version["version"]]})
        for callback in self._uploaded:
            callback(version)

    def vue_cancel(self, data: dict[str, Any]) -> None:
        upload_id = str(data.get("id") or self.upload_id or "")
        if upload_id:
            self._step("cancel the upload", lambda: self.steps.cancel(upload_id))
        self.upload_id = None
        self.phase = "cancelled"
        self.result = "Upload cancelled; nothing was kept."

    def vue_failed(self, data: dict[str, Any]) -> None:
        """The browser could not go on (the service refused a chunk): say so."""
        self.phase = "failed"
        self.result = str(data.get("message") or "The upload failed.")
