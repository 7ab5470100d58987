"""The notebook side of the model service: a synchronous HTTP client with typed methods.

Inside a single-user server everything it needs is already in the environment:
``MLK_SERVICE_URL`` (set by the hub's ``jupyterhub_config.py``, the service's
URL as the container reaches it) and ``JUPYTERHUB_API_TOKEN`` (the server's own
hub token, granted the service's scopes by ``server_token_scopes``). Elsewhere,
pass ``url`` and ``token`` or set ``MLK_SERVICE_URL`` and ``MLK_SERVICE_TOKEN``.

    from mlrun_kernel.client import Client

    client = Client()
    client.list_models(task="predict")
    version = client.upload_dataset("iris.csv", name="iris")
    run = client.start_run("iris-classifier", inputs={"data": version["ref"]},
                           parameters={"threshold": 0.7})
    run = client.wait_run(run["id"])
    client.read_output(run["id"], "predictions.csv")

Answers are plain JSON objects, typed with ``TypedDict``s (``Model``,
``Dataset``, ``Run``, ...). Failures raise ``ServiceError`` subclasses that
say what went wrong: ``AuthenticationFailed`` (401), ``PermissionDenied``
(403), ``NotFound`` (404), ``Conflict`` (409), ``InvalidRequest`` (400, 413,
415, 422; ``errors`` holds JSON pointers for bad run parameters) and
``ServiceUnavailable`` (no answer, or 5xx).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypedDict, cast

import httpx

DEFAULT_SERVICE_URL = "http://127.0.0.1:8000/services/models/"
CHUNK_BYTES = 256 * 1024 * 1024  # bytes per upload request, streamed in PIECE_BYTES pieces
PIECE_BYTES = 1024 * 1024
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


# ---- errors -------------------------------------------------------------------------


class ServiceError(RuntimeError):
    """A call to the model service failed; the message says where, how and why."""

    def __init__(self, message: str, *, url: str, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.detail = detail
        self.errors: list[dict[str, str]] = []


class AuthenticationFailed(ServiceError):
    """401: no token, or one the hub does not know."""


class PermissionDenied(ServiceError):
    """403: the token is valid, but its owner may not do this."""


class NotFound(ServiceError):
    """404: no such model, dataset, run or file (or one you may not see)."""


class Conflict(ServiceError):
    """409: the object is in a state that does not allow this (e.g. a dataset in use)."""


class InvalidRequest(ServiceError):
    """400/413/415/422: the request is wrong; ``errors`` has JSON pointers for parameters."""


class ServiceUnavailable(ServiceError):
    """The service did not answer, or failed (5xx)."""


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
}


# ---- answers --------------------------------------------------------------------------


class Task(TypedDict):
    name: str
    description: str | None


class Model(TypedDict):
    name: str
    repository: str
    tag: str | None
    tags: list[str]
    reference: str
    digest: str
    title: str | None
    description: str | None
    version: str | None
    tasks: list[Task]
    keywords: list[str]
    problem: str | None


class ModelDetail(Model):
    manifest: dict[str, Any] | None
    versions: list[dict[str, Any]]
    problems: list[dict[str, Any]]


# ---- answers generated from the service's OpenAPI schema (begin) ----
# Made by .venv/bin/python scripts/gen-client-types.py from the service's records (mlrun_kernel.wire);
# do not edit by hand: tests/service/test_openapi_contract.py fails while it is stale.


class Output(TypedDict):
    """One collected output file, relative to the outputs folder."""

    path: str
    size: int


class RunEvent(TypedDict):
    at: str
    state: str
    reason: str | None


class Run(TypedDict):
    """A run as callers see it."""

    id: str
    name: str | None
    owner: str
    model: str
    model_ref: str
    model_version: str | None
    digest: str
    task: str
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    resources: dict[str, Any]
    state: str
    reason: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    progress: float | None
    progress_message: str | None
    exit_code: int | None
    outputs: list[Output]
    outputs_bytes: int | None
    metrics: dict[str, Any] | None
    result: Any
    failure_text: str | None
    warnings: list[str]
    log_lines: int
    log_truncated: bool
    reused_from: str | None
    queue_position: int | None
    events: list[RunEvent]


class RunPage(TypedDict):
    """One page of runs: ``total`` matching runs, ``next_offset`` None on the last page."""

    runs: list[Run]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class LogLine(TypedDict):
    """A stored (or live) log line of a run."""

    seq: int
    at: str
    stream: str
    text: str


class Upload(TypedDict):
    """An upload in progress: where to resume."""

    id: str
    owner: str
    filename: str
    received: int
    expected_size: int | None
    created_at: str
    updated_at: str


class DatasetVersion(TypedDict):
    """One stored version of a dataset."""

    ref: str
    id: int
    owner: str
    name: str
    version: int
    media_type: str
    size: int
    file_count: int
    sha256: str
    source_name: str
    created_at: str


class Dataset(TypedDict):
    """A dataset and a summary of its newest version."""

    ref: str
    id: int
    owner: str
    name: str
    description: str
    visibility: str
    group: str | None
    created_at: str
    updated_at: str
    latest_version: int
    version_count: int
    size: int
    media_type: str
    file_count: int


# ---- answers generated from the service's OpenAPI schema (end) ----


class SignedUrl(TypedDict):
    url: str
    method: str
    expires: int


def _once(data: bytes) -> Iterator[bytes]:
    """``data`` as an iterator that lets go of it once it has been consumed."""
    yield data


class _Part:
    """Up to ``limit`` bytes of ``read``, as an iterator of pieces: one request's body.

    Only one piece is held at a time, so a request of hundreds of MiB costs the
    client a piece of memory. ``sent`` counts what was handed out; ``ended`` says
    the source ran dry.
    """

    def __init__(self, read: Any, limit: int) -> None:
        self._read, self._left = read, limit
        self.sent, self.ended = 0, False

    def __iter__(self) -> Iterator[bytes]:
        while self._left > 0:
            piece = self._read(min(PIECE_BYTES, self._left))
            if not piece:
                self.ended = True
                return
            self._left -= len(piece)
            self.sent += len(piece)
            yield piece


def _when(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class Client:
    """Talks to the model service with the caller's JupyterHub token."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from mlrun_kernel.config import client_settings  # lazily: pydantic stays out of `import client`

        given = client_settings()
        base = url or given.service_url or DEFAULT_SERVICE_URL
        self.url = base.rstrip("/") + "/"
        if token is None:
            token = given.service_token or os.environ.get("JUPYTERHUB_API_TOKEN")
        headers = {"Authorization": f"token {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)
        origin = httpx.URL(self.url)
        self._origin = f"{origin.scheme}://{origin.netloc.decode()}"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- plumbing -------------------------------------------------------------------

    def _error(self, method: str, url: str, response: httpx.Response) -> ServiceError:
        detail: Any = response.text.strip()[:500]
        errors: list[dict[str, str]] = []
        try:
            body = response.json()
            if isinstance(body, dict) and "detail" in body:
                detail = body["detail"]
                errors = list(body.get("errors") or [])
        except ValueError:
            pass
        text = detail if isinstance(detail, str) else json.dumps(detail)
        if errors:
            text += "".join(f"\n  {e.get('path') or '/'}: {e.get('message')}" for e in errors)
        status = response.status_code
        kind = _BY_STATUS.get(status, ServiceUnavailable if status >= 500 else ServiceError)
        error = kind(
            f"the model service answered {status} at {method} {url}: {text}",
            url=url,
            status=status,
            detail=detail,
        )
        error.errors = errors
        return error

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self.url + path
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach the model service at {url}: {exc}. "
                "Is the hub's 'models' service running, and MLK_SERVICE_URL right?",
                url=url,
            ) from exc
        if not response.is_success:
            raise self._error(method, url, response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _get(self, path: str, **params: Any) -> Any:
        return self._json("GET", path, params=_clean(params))

    # ---- the service ----------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The service's health answer (no token needed)."""
        return cast(dict[str, Any], self._get("api/health"))

    def me(self) -> dict[str, Any]:
        """Who the token belongs to: name, groups, the service scopes it grants."""
        return cast(dict[str, Any], self._get("api/me"))

    # ---- models ---------------------------------------------------------------------

    def list_models(
        self,
        search: str | None = None,
        *,
        keyword: str | None = None,
        task: str | None = None,
        has_problems: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Model cards from the catalog (models with broken labels: experts and admins only).

        Each card has the ``Model`` shape; it is typed as a plain dict because the
        gallery widget groups and extends the cards it gets.
        """
        return cast(
            list[dict[str, Any]],
            self._get("api/models", search=search, keyword=keyword, task=task, has_problems=has_problems),
        )

    def get_model(self, name: str) -> ModelDetail:
        """A model with its manifest, versions and (experts, admins) problems."""
        return cast(ModelDetail, self._get(f"api/models/{name}"))

    def catalog_status(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("api/catalog"))

    def sync_catalog(self, *, deep: bool = True) -> dict[str, Any]:
        """Admins: resync the catalog with the registry now."""
        return cast(dict[str, Any], self._json("POST", "api/catalog/sync", params={"deep": deep}))

    # ---- datasets -------------------------------------------------------------------

    def start_upload(self, filename: str, size: int | None = None) -> Upload:
        return cast(Upload, self._json("POST", "api/uploads", json={"filename": filename, "size": size}))

    def upload_status(self, upload_id: str) -> Upload:
        return cast(Upload, self._get(f"api/uploads/{upload_id}"))

    def send_chunk(self, upload_id: str, offset: int, data: bytes) -> Upload:
        # The body goes as a one-shot iterator, not as the bytes themselves: httpx's
        # request and response refer to each other, so whatever the request holds
        # lives until the cyclic garbage collector runs, which big bytes objects do
        # not trigger. Holding the bytes directly, a 1 GiB upload grew the process
        # to 600 MiB; this way each chunk is freed as soon as it is sent.
        return self._send_body(upload_id, offset, _once(data), len(data))

    def _send_body(self, upload_id: str, offset: int, body: Iterable[bytes], length: int | None) -> Upload:
        """One PATCH of ``body`` at ``offset`` (chunked when ``length`` is unknown)."""
        headers = {"Content-Type": "application/octet-stream"}
        if length is not None:
            headers["Content-Length"] = str(length)
        return cast(
            Upload,
            self._json(
                "PATCH", f"api/uploads/{upload_id}", params={"offset": offset}, content=body, headers=headers
            ),
        )

    def complete_upload(
        self,
        upload_id: str,
        name: str,
        *,
        description: str | None = None,
        visibility: str | None = None,
        group: str | None = None,
        unpack: bool = True,
    ) -> DatasetVersion:
        body = _clean({"name": name, "description": description, "visibility": visibility, "group": group})
        body["unpack"] = unpack
        return cast(DatasetVersion, self._json("POST", f"api/uploads/{upload_id}/complete", json=body))

    def abort_upload(self, upload_id: str) -> None:
        self._send("DELETE", f"api/uploads/{upload_id}")

    def upload_url(self, upload_id: str) -> SignedUrl:
        """A short-lived URL (relative to the service's origin) a browser can PATCH chunks to."""
        return cast(SignedUrl, self._json("POST", f"api/uploads/{upload_id}/signed-url"))

    def upload_dataset(
        self,
        source: str | os.PathLike[str] | IO[bytes] | bytes,
        name: str,
        *,
        filename: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        group: str | None = None,
        unpack: bool = True,
        chunk_bytes: int = CHUNK_BYTES,
        resume: str | None = None,
    ) -> DatasetVersion:
        """Upload a file (path, binary file object or bytes) as the next version of ``name``.

        Sent in requests of ``chunk_bytes``, each streamed in pieces of
        ``PIECE_BYTES``, so the file is never read whole into memory; ``resume``
        (an upload id) continues an interrupted upload from where the service
        says it stopped. Few large requests keep the transfer at the speed of the
        wire (the service checkpoints within a request).
        """
        opened = False
        if isinstance(source, bytes):
            size: int | None = len(source)
            filename = filename or name
            stream: IO[bytes] = io.BytesIO(source)
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            size, filename = path.stat().st_size, filename or path.name
            stream, opened = path.open("rb"), True
        else:
            stream, size = source, None
            filename = filename or os.path.basename(str(getattr(source, "name", ""))) or name
        try:
            upload = self.upload_status(resume) if resume else self.start_upload(filename, size)
            offset = upload["received"]
            if offset:
                stream.seek(offset)
            while size is None or offset < size:
                length = None if size is None else min(chunk_bytes, size - offset)
                part = _Part(stream.read, chunk_bytes if length is None else length)
                upload = self._send_body(upload["id"], offset, part, length)
                if upload["received"] != offset + part.sent:  # the service kept less: go back
                    stream.seek(upload["received"])
                offset = upload["received"]
                if part.ended or part.sent == 0:
                    break
        finally:
            if opened:
                stream.close()
        return self.complete_upload(
            upload["id"], name, description=description, visibility=visibility, group=group, unpack=unpack
        )

    def list_datasets(self, *, owner: str | None = None) -> list[Dataset]:
        """Datasets you can see: yours, your groups', public ones (admins: all)."""
        return cast(list[Dataset], self._get("api/datasets", owner=owner))

    @staticmethod
    def _ref(ref: str) -> str:
        if "/" not in ref:
            raise ValueError(f"say whose dataset: 'owner/{ref}', not {ref!r}")
        return ref

    def get_dataset(self, ref: str) -> dict[str, Any]:
        """A dataset (``owner/name``) with its versions."""
        return cast(dict[str, Any], self._get(f"api/datasets/{self._ref(ref)}"))

    def preview_dataset(self, ref: str, version: int | None = None) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"api/datasets/{self._ref(ref)}/preview", version=version))

    def dataset_files(self, ref: str, version: int | None = None) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get(f"api/datasets/{self._ref(ref)}/files", version=version))

    def download_dataset(
        self, ref: str, dest: str | os.PathLike[str], *, version: int | None = None, path: str | None = None
    ) -> Path:
        """Write one file of a dataset version to ``dest``, streamed."""
        params = _clean({"version": version, "path": path})
        return self._download(f"api/datasets/{self._ref(ref)}/download", Path(dest), params)

    def download_url(self, ref: str, *, version: int | None = None, path: str | None = None) -> SignedUrl:
        """A short-lived URL that fetches one file without a token (for browsers)."""
        params = _clean({"version": version, "path": path})
        return cast(
            SignedUrl, self._json("POST", f"api/datasets/{self._ref(ref)}/download-url", params=params)
        )

    def absolute(self, signed: SignedUrl) -> str:
        """A signed URL made absolute against the service's origin."""
        return self._origin + signed["url"]

    def share_dataset(self, ref: str, visibility: str, group: str | None = None) -> Dataset:
        """``private``, ``group`` (with ``group``) or ``public``."""
        body = _clean({"visibility": visibility, "group": group})
        return cast(Dataset, self._json("PUT", f"api/datasets/{self._ref(ref)}/sharing", json=body))

    def delete_dataset(self, ref: str) -> None:
        self._send("DELETE", f"api/datasets/{self._ref(ref)}")

    # ---- runs -----------------------------------------------------------------------

    def start_run(
        self,
        model: str,
        *,
        task: str = "predict",
        inputs: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        reuse: bool = False,
        name: str | None = None,
    ) -> Run:
        """Queue a run; ``InvalidRequest.errors`` lists bad parameters by JSON pointer (and a
        refused run ``name`` as ``/name``). ``name``: what you call the run, shown in histories."""
        body: dict[str, Any] = {
            "model": model,
            "task": task,
            "inputs": inputs or {},
            "parameters": parameters or {},
            "reuse": reuse,
        }
        if name is not None:
            body["name"] = name
        return cast(Run, self._json("POST", "api/runs", json=body))

    def list_runs(
        self,
        *,
        owner: str | None = None,
        state: str | None = None,
        model: str | None = None,
        task: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        name: str | None = None,
        sort: str = "-created_at",
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        """One page of runs (the library's ``RunQuery``: same filters, sort and window);
        ``name``: runs whose name holds this text, in any case."""
        return cast(
            RunPage,
            self._get(
                "api/runs",
                owner=owner,
                state=state,
                model=model,
                task=task,
                created_after=_when(created_after),
                created_before=_when(created_before),
                name=name,
                sort=sort,
                limit=limit,
                offset=offset,
            ),
        )

    def get_run(self, run_id: str) -> Run:
        return cast(Run, self._get(f"api/runs/{run_id}"))

    def queue_position(self, run_id: str) -> int | None:
        """1 = next to start; None when the run is not queued."""
        return cast(int | None, self._get(f"api/runs/{run_id}/queue")["position"])

    def run_logs(self, run_id: str, *, after: int = 0, limit: int = 1000) -> list[LogLine]:
        return cast(list[LogLine], self._get(f"api/runs/{run_id}/logs", after=after, limit=limit))

    def _events(self, path: str, *, after: int, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """One Server-Sent Events stream as ``(event, data)`` until its ``end`` event.

        ``ServiceUnavailable`` when the stream breaks; ``what`` names it in that message.
        """
        try:
            with self._http.stream("GET", path, params={"after": after}, timeout=None) as response:
                if not response.is_success:
                    response.read()
                    raise self._error("GET", self.url + path, response)
                event, data = "", ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif not line:
                        if event and data:
                            yield event, json.loads(data)
                        if event == "end":
                            return
                        event, data = "", ""
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the {what} broke: {exc}", url=self.url + path) from exc

    def follow_logs(self, run_id: str, *, after: int = 0) -> Iterator[LogLine]:
        """Log lines as they come (Server-Sent Events), until the run ends."""
        for event, data in self._events(
            f"api/runs/{run_id}/logs/stream", after=after, what=f"log stream of run {run_id}"
        ):
            if event == "log":
                yield cast(LogLine, data)

    def wait_run(self, run_id: str, *, timeout: float | None = None, poll: float = 1.0) -> Run:
        """The run once it has ended; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get_run(run_id)
            if run["state"] in TERMINAL_STATES:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {run['state']} after {timeout} s")
            time.sleep(poll)

    def run_outputs(self, run_id: str) -> list[Output]:
        return cast(list[Output], self._get(f"api/runs/{run_id}/outputs"))

    def read_output(self, run_id: str, path: str) -> bytes:
        """The bytes of one output file (small files; use ``download_output`` for big ones)."""
        return self._send("GET", f"api/runs/{run_id}/outputs/{path}").content

    def download_output(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        return self._download(f"api/runs/{run_id}/outputs/{path}", Path(dest), {})

    def preview_output(self, run_id: str, path: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"api/runs/{run_id}/preview/{path}"))

    def cancel_run(self, run_id: str) -> Run:
        return cast(Run, self._json("POST", f"api/runs/{run_id}/cancel"))

    def rerun(self, run_id: str, *, reuse: bool = False) -> Run:
        """A new run with the same model digest, dataset versions and parameters."""
        return cast(Run, self._json("POST", f"api/runs/{run_id}/rerun", params={"reuse": reuse}))

    def delete_run(self, run_id: str) -> None:
        self._send("DELETE", f"api/runs/{run_id}")

    # ---- admins ---------------------------------------------------------------------

    def audit_log(self, **filters: Any) -> dict[str, Any]:
        """Admins: ``actor``, ``action``, ``object_type``, ``object_id``, ``since``, ``limit``..."""
        return cast(dict[str, Any], self._get("api/admin/audit", **filters))

    def metrics(self) -> str:
        """Admins: the Prometheus text exposition."""
        return self._send("GET", "metrics").text

    # ---- helpers --------------------------------------------------------------------

    def _download(self, path: str, dest: Path, params: dict[str, Any]) -> Path:
        url = self.url + path
        try:
            with self._http.stream("GET", path, params=params) as response:
                if not response.is_success:
                    response.read()
                    raise self._error("GET", url, response)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(1024 * 1024):
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"download from {url} broke: {exc}", url=url) from exc
        return dest

    # ---- widgets helpers ------------------------------------------------------------
    # What the widgets of mlrun_kernel.widgets need beyond the methods above.

    def output_table(
        self,
        run_id: str,
        path: str,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str | None = None,
        descending: bool = False,
    ) -> dict[str, Any]:
        """One page of a CSV/TSV/Parquet output (``columns``, ``rows``, ``total``), cut on the service."""
        return cast(
            dict[str, Any],
            self._get(
                f"api/runs/{run_id}/table/{path}",
                offset=offset,
                limit=limit,
                sort=sort,
                descending=descending or None,
            ),
        )

    def output_url(self, run_id: str, path: str) -> SignedUrl:
        """A short-lived URL a browser can download one output from without a token."""
        return cast(SignedUrl, self._json("POST", f"api/runs/{run_id}/output-url", params={"path": path}))

    def follow_run(self, run_id: str, *, after: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
        """The run's live stream as ``(event, data)``: ``log`` lines, ``state`` changes, ``end``.

        ``follow_logs`` keeps only the lines; a run monitor needs the states too.
        ``ServiceUnavailable`` when the stream breaks: follow again with ``after``
        = the last line's ``seq`` to resume without a line twice.
        """
        return self._events(
            f"api/runs/{run_id}/logs/stream", after=after, what=f"live stream of run {run_id}"
        )

    # ---- evaluations ----------------------------------------------------------------
    # Metrics history, evaluations, rules, flags and fine-tune requests (docs/evaluations.md).
    # Admins manage; experts read the history and their groups' requests and answer them.

    def metric_history(
        self,
        model: str,
        *,
        metric: str | None = None,
        digest: str | None = None,
        task: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        evaluations_only: bool = False,
    ) -> list[dict[str, Any]]:
        """A model's metrics over time, oldest first: ``{at, metric, value, digest, version,
        task, run_id, evaluation_id}`` per point."""
        answer = self._get(
            "api/metrics",
            model=model,
            metric=metric,
            digest=digest,
            task=task,
            since=since.isoformat() if isinstance(since, datetime) else since,
            until=until.isoformat() if isinstance(until, datetime) else until,
            evaluations_only=evaluations_only or None,
        )
        fields = answer["fields"]
        return [dict(zip(fields, point, strict=True)) for point in answer["points"]]

    def evaluation_setups(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/evaluations/setups"))

    def evaluation_setup(self, model: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("api/evaluations/setup", model=model))

    def set_evaluation_setup(self, model: str, dataset: str, **fields: Any) -> dict[str, Any]:
        """``dataset_version``, ``parameters``, ``schedule`` (daily, weekly, cron), ``input_name``,
        ``experts_group``; the dataset version is pinned (default: the newest)."""
        body = {"model": model, "dataset": dataset, **fields}
        return cast(dict[str, Any], self._json("PUT", "api/evaluations/setup", json=body))

    def delete_evaluation_setup(self, model: str) -> None:
        self._send("DELETE", "api/evaluations/setup", params={"model": model})

    def evaluate(self, model: str, ref: str = "latest") -> dict[str, Any]:
        """Start an evaluation of ``model`` (a tag or ``sha256:`` digest) on its reference data."""
        return cast(dict[str, Any], self._json("POST", "api/evaluations", json={"model": model, "ref": ref}))

    def list_evaluations(self, model: str | None = None, *, limit: int = 500) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/evaluations", model=model, limit=limit))

    def get_evaluation(self, evaluation_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"api/evaluations/{evaluation_id}"))

    def evaluation_overview(self) -> list[dict[str, Any]]:
        """Every evaluated model: latest metrics, trend, flags, active requests."""
        return cast(list[dict[str, Any]], self._get("api/evaluations/overview"))

    def list_rules(self, model: str | None = None) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/evaluations/rules", model=model))

    def add_rule(self, model: str, metric: str, kind: str, **fields: Any) -> dict[str, Any]:
        """``threshold``; or ``drop`` with ``baseline`` (``pinned`` + ``baseline_evaluation_id``,
        or ``median`` + ``window``); ``min_consecutive``, ``cooldown_seconds``."""
        body = {"model": model, "metric": metric, "kind": kind, **fields}
        return cast(dict[str, Any], self._json("POST", "api/evaluations/rules", json=body))

    def delete_rule(self, rule_id: int) -> None:
        self._send("DELETE", f"api/evaluations/rules/{rule_id}")

    def list_flags(self, model: str | None = None, *, open_only: bool = True) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]], self._get("api/evaluations/flags", model=model, open_only=open_only)
        )

    def create_request(
        self,
        model: str,
        reason: str,
        *,
        flag_id: int | None = None,
        datasets: Iterable[str] = (),
        experts_group: str | None = None,
    ) -> dict[str, Any]:
        """Ask the model's experts to fine-tune; ``datasets`` are shared with them by this call."""
        body = {
            "model": model,
            "reason": reason,
            "flag_id": flag_id,
            "datasets": list(datasets),
            "experts_group": experts_group,
        }
        return cast(dict[str, Any], self._json("POST", "api/requests", json=body))

    def list_requests(self, *, model: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/requests", model=model, state=state))

    def get_request(self, request_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"api/requests/{request_id}"))

    def ack_request(self, request_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._json("POST", f"api/requests/{request_id}/ack"))

    def close_request(self, request_id: str, reason: str) -> dict[str, Any]:
        return cast(
            dict[str, Any], self._json("POST", f"api/requests/{request_id}/close", json={"reason": reason})
        )

    def list_webhooks(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/evaluations/webhooks"))

    def add_webhook(self, url: str, secret: str | None = None) -> dict[str, Any]:
        """``{webhook, secret}``: the secret signs every delivery (``X-MLK-Signature-256``)."""
        body = {"url": url, "secret": secret}
        return cast(dict[str, Any], self._json("POST", "api/evaluations/webhooks", json=body))

    def delete_webhook(self, webhook_id: int) -> None:
        self._send("DELETE", f"api/evaluations/webhooks/{webhook_id}")

    def notification_deliveries(
        self, *, request_id: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]], self._get("api/evaluations/deliveries", request_id=request_id, limit=limit)
        )

    # ---- builds ---------------------------------------------------------------------
    # An expert's model folder in (a tar stream), a tested, published image out
    # (publish scope); mlrun_kernel.expert is the notebook's front door to these.

    def start_build(self, context: Iterable[bytes], *, force: bool = False) -> dict[str, Any]:
        """Send a build context (the model folder as tar chunks); the queued build."""
        return cast(
            dict[str, Any],
            self._json(
                "POST",
                "api/builds",
                content=context,
                params={"force": "true"} if force else None,
                headers={"Content-Type": "application/x-tar"},
                timeout=httpx.Timeout(30.0, write=600.0),
            ),
        )

    def get_build(self, build_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"api/builds/{build_id}"))

    def list_builds(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("api/builds"))

    def cancel_build(self, build_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._json("POST", f"api/builds/{build_id}/cancel"))

    def build_log(self, build_id: str, *, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get(f"api/builds/{build_id}/log", after=after, limit=limit))

    def follow_build(self, build_id: str, *, after: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(event, data)`` as the build goes: ``log`` lines, ``state`` (with progress), ``end``."""
        return self._events(
            f"api/builds/{build_id}/log/stream", after=after, what=f"log stream of build {build_id}"
        )
