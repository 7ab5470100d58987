"""The one interface every ``mlk`` command body talks to, and its two implementations.

- :class:`Platform`: what the commands need (models, datasets, runs), answering
  in the service's wire shapes (plain JSON data: ``RunOut``, ``DatasetOut``,
  model cards...), so a command prints the same whichever side answered.
- :class:`Embedded`: the library itself, on the local store, data folder and
  engine (``mlk`` on the machine).
- :class:`Remote`: the model service through :class:`mlrun_kernel.client.Client`
  (``mlk`` inside a notebook container, where ``MLK_SERVICE_URL`` is set).
- :func:`open_platform` picks one.

What cannot work through the service (a host file as a run input, running as
another user) raises :class:`NotRemote` with what to do instead; nothing is
silently dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from pydantic_core import to_jsonable_python

from mlrun_kernel.config import client_settings

if TYPE_CHECKING:
    from mlrun_kernel.client import Client
    from mlrun_kernel.datasets import Datasets, Principal
    from mlrun_kernel.runs import Executor, RunQuery


class NotRemote(RuntimeError):
    """A command or flag that works only embedded was used through the service."""


@dataclasses.dataclass(frozen=True)
class RunAsk:
    """A run as ``mlk run`` asks for it; ``inputs`` name datasets (embedded: or local paths)."""

    model: str
    task: str
    inputs: dict[str, str]
    parameters: dict[str, Any]
    reuse: bool = False
    owner: str | None = None
    name: str | None = None
    """What the person calls the run (``mlk run --name``)."""


@dataclasses.dataclass(frozen=True)
class UploadAsk:
    """A dataset upload as ``mlk datasets upload`` asks for it."""

    path: Path
    name: str
    description: str | None = None
    visibility: str | None = None
    group: str | None = None
    unpack: bool = True


def me() -> str:
    """Who runs the command: ``$MLK_USER``, else ``$JUPYTERHUB_USER``, else the OS user."""
    return client_settings().user or os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


class Platform(Protocol):
    """What ``mlk`` commands do, in the service's wire shapes."""

    @property
    def who(self) -> str:
        """The user the commands act as."""
        ...

    def models(
        self, *, search: str | None, keyword: str | None, task: str | None, problems: bool
    ) -> list[dict[str, Any]]: ...
    def model(self, name: str) -> dict[str, Any]: ...

    def upload(self, ask: UploadAsk) -> dict[str, Any]: ...
    def datasets(self) -> list[dict[str, Any]]: ...
    def dataset(self, ref: str) -> dict[str, Any]: ...
    def files(self, ref: str, version: int | None) -> list[dict[str, Any]]: ...
    def preview(self, ref: str, version: int | None) -> dict[str, Any]: ...
    def delete_dataset(self, ref: str) -> str: ...

    def submit(self, ask: RunAsk) -> dict[str, Any]: ...
    def runs(self, query: RunQuery) -> dict[str, Any]: ...
    def run(self, run_id: str) -> dict[str, Any]: ...
    def log_batches(self, run_id: str, *, follow: bool) -> Iterator[list[dict[str, Any]]]:
        """The run's log lines in the batches they arrive in (printed with one write each)."""
        ...

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]: ...
    def cancel(self, run_id: str) -> dict[str, Any]: ...
    def rerun(self, run_id: str, *, reuse: bool) -> dict[str, Any]: ...
    def remove(self, run_id: str) -> None: ...
    def executing(self) -> contextlib.AbstractContextManager[None]: ...
    def outputs_location(self, run: dict[str, Any]) -> str: ...


def _wire(model_name: str, info: Any, **values: Any) -> dict[str, Any]:
    """A dataset record in the wire shape the service answers (``datasets.records``)."""
    from mlrun_kernel.datasets import records
    from mlrun_kernel.wire import to_wire

    return to_wire(getattr(records, model_name), info, **values).model_dump(mode="json")


def _dataset(info: Any) -> dict[str, Any]:
    return _wire("DatasetOut", info)


def _version(info: Any) -> dict[str, Any]:
    return _wire("DatasetVersionOut", info)


def qualified(who: str, ref: str) -> str:
    """A dataset reference with its owner: ``name`` means one of ``who``'s, on both sides."""
    return ref if "/" in ref else f"{who}/{ref}"


class Embedded:
    """The library on this machine: the local store, data folder and engine."""

    def __init__(self) -> None:
        self.who = me()

    @cached_property
    def _principal(self) -> Principal:
        from mlrun_kernel.datasets import Principal

        return Principal(name=self.who)

    @cached_property
    def _datasets(self) -> Datasets:
        from mlrun_kernel.datasets import Datasets
        from mlrun_kernel.store import open_store

        return Datasets(open_store())

    @cached_property
    def _executor(self) -> Executor:
        """An executor of this command's own name, so it never adopts a live service's runs."""
        from mlrun_kernel.runs import Executor, run_settings
        from mlrun_kernel.store import open_store

        return Executor(open_store(), name=f"{run_settings().executor_name}-cli-{os.getpid()}")

    # ---- models
    def _catalog(self) -> Any:
        from mlrun_kernel.cli.models import synced_store

        return synced_store()

    def models(
        self, *, search: str | None, keyword: str | None, task: str | None, problems: bool
    ) -> list[dict[str, Any]]:
        from mlrun_kernel.catalog import list_models
        from mlrun_kernel.catalog.cards import model_card
        from mlrun_kernel.config import settings

        found = list_models(
            self._catalog(),
            include_problems=True,
            search=search,
            keyword=keyword,
            task=task,
            has_problems=True if problems else None,
        )
        return [model_card(m, settings().registry_host) for m in found]

    def model(self, name: str) -> dict[str, Any]:
        from mlrun_kernel.catalog import get_model
        from mlrun_kernel.catalog.cards import model_detail
        from mlrun_kernel.config import settings

        found = get_model(self._catalog(), name, include_problems=True)
        if found is None:
            raise LookupError(f"no model {name} in the catalog (try `mlk models list`)")
        return dict(to_jsonable_python(model_detail(found, settings().registry_host, sees_problems=True)))

    # ---- datasets
    def upload(self, ask: UploadAsk) -> dict[str, Any]:
        info = self._datasets.upload_file(
            self._principal,
            ask.name,
            ask.path,
            description=ask.description,
            visibility=cast(Any, ask.visibility),  # argparse checked it against VISIBILITIES
            group=ask.group,
            unpack=ask.unpack,
        )
        return _version(info)

    def datasets(self) -> list[dict[str, Any]]:
        return [_dataset(d) for d in self._datasets.list(self._principal)]

    def dataset(self, ref: str) -> dict[str, Any]:
        ref = qualified(self.who, ref)
        info = self._datasets.get(self._principal, ref)
        versions = self._datasets.versions(self._principal, ref)
        return _dataset(info) | {"versions": [_version(v) for v in versions]}

    def files(self, ref: str, version: int | None) -> list[dict[str, Any]]:
        found = self._datasets.files(self._principal, qualified(self.who, ref), version)
        return [_wire("FileOut", f) for f in found]

    def preview(self, ref: str, version: int | None) -> dict[str, Any]:
        preview = self._datasets.preview(self._principal, qualified(self.who, ref), version)
        return dict(to_jsonable_python(preview))

    def delete_dataset(self, ref: str) -> str:
        full = qualified(self.who, ref)
        self._datasets.delete(self._principal, full)
        return full

    # ---- runs
    def submit(self, ask: RunAsk) -> dict[str, Any]:
        from mlrun_kernel.cli.model_entry import refresh_model_entry
        from mlrun_kernel.runs import LocalInput, RunRequest
        from mlrun_kernel.runs.record import public_record

        refresh_model_entry(self._executor.store, ask.model)  # not the whole catalog: start-up cost
        sources: dict[str, Any] = {
            name: LocalInput(Path(value)) if Path(value).exists() else qualified(self.who, value)
            for name, value in ask.inputs.items()
        }
        request = RunRequest(
            model=ask.model,
            task=ask.task,
            inputs=sources,
            parameters=ask.parameters,
            owner=ask.owner or self._principal,
            reuse=ask.reuse,
            name=ask.name,
        )
        return public_record(self._executor.submit(request))

    def runs(self, query: RunQuery) -> dict[str, Any]:
        from mlrun_kernel.runs.record import public_page

        return public_page(self._executor.page(query)).model_dump(mode="json")

    def run(self, run_id: str) -> dict[str, Any]:
        from mlrun_kernel.runs.record import public_record

        return public_record(self._executor.get(run_id))

    def log_batches(self, run_id: str, *, follow: bool) -> Iterator[list[dict[str, Any]]]:
        if follow:
            batches: Iterator[list[Any]] = self._executor.follow_batches(run_id)
        else:
            batches = self._stored_pages(run_id)
        for lines in batches:
            yield [
                {"seq": line.seq, "at": to_jsonable_python(line.at), "stream": line.stream, "text": line.text}
                for line in lines
            ]

    def _stored_pages(self, run_id: str, page: int = 10_000) -> Iterator[list[Any]]:
        """The whole stored log, a page at a time (not just its first page)."""
        after = 0
        while lines := self._executor.logs(run_id, after=after, limit=page):
            yield lines
            if len(lines) < page:
                return
            after = lines[-1].seq

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]:
        from mlrun_kernel.runs.record import public_record

        return public_record(self._executor.wait(run_id, timeout))

    def cancel(self, run_id: str) -> dict[str, Any]:
        from mlrun_kernel.runs.record import public_record

        return public_record(self._executor.cancel(run_id, by=self.who))

    def rerun(self, run_id: str, *, reuse: bool) -> dict[str, Any]:
        from mlrun_kernel.runs.record import public_record

        return public_record(self._executor.rerun(run_id, owner=self._principal, reuse=reuse))

    def remove(self, run_id: str) -> None:
        self._executor.remove(run_id)

    @contextlib.contextmanager
    def executing(self) -> Iterator[None]:
        """The runs this command queued are carried out by an executor in this process."""
        self._executor.start()
        try:
            yield
        finally:
            self._executor.stop()

    def outputs_location(self, run: dict[str, Any]) -> str:
        return str(self._executor.get(run["id"]).outputs_dir)


class Remote:
    """The model service, through the notebook client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @cached_property
    def who(self) -> str:
        return str(self.client.me()["name"])

    def _ref(self, ref: str) -> str:
        return qualified(self.who, ref)

    # ---- models
    def models(
        self, *, search: str | None, keyword: str | None, task: str | None, problems: bool
    ) -> list[dict[str, Any]]:
        return self.client.list_models(
            search, keyword=keyword, task=task, has_problems=True if problems else None
        )

    def model(self, name: str) -> dict[str, Any]:
        return dict(self.client.get_model(name))

    # ---- datasets
    def upload(self, ask: UploadAsk) -> dict[str, Any]:
        path = ask.path
        if path.is_dir():
            raise NotRemote(
                f"{path} is a folder: through the service, upload a file, a .zip or a .tar "
                f"(for example `tar czf {path.name}.tar.gz -C {path.parent} {path.name}`)"
            )
        version = self.client.upload_dataset(
            path,
            ask.name,
            description=ask.description,
            visibility=ask.visibility,
            group=ask.group,
            unpack=ask.unpack,
        )
        return dict(version)

    def datasets(self) -> list[dict[str, Any]]:
        return [dict(d) for d in self.client.list_datasets()]

    def dataset(self, ref: str) -> dict[str, Any]:
        return self.client.get_dataset(self._ref(ref))

    def files(self, ref: str, version: int | None) -> list[dict[str, Any]]:
        return self.client.dataset_files(self._ref(ref), version)

    def preview(self, ref: str, version: int | None) -> dict[str, Any]:
        return self.client.preview_dataset(self._ref(ref), version)

    def delete_dataset(self, ref: str) -> str:
        full = self._ref(ref)
        self.client.delete_dataset(full)
        return full

    # ---- runs
    def submit(self, ask: RunAsk) -> dict[str, Any]:
        if ask.owner and ask.owner != self.who:
            raise NotRemote(
                f"--owner {ask.owner}: through the service a run is always yours ({self.who}); "
                "an admin starts runs for others on the service's machine"
            )
        for name, value in ask.inputs.items():
            if Path(value).exists():
                raise NotRemote(
                    f"--input {name}={value} names a file here, which the service cannot read: "
                    f"upload it first (`mlk datasets upload {value} --name NAME`), then --input {name}=NAME"
                )
        inputs = {name: self._ref(value) for name, value in ask.inputs.items()}
        run = self.client.start_run(
            ask.model,
            task=ask.task,
            inputs=inputs,
            parameters=ask.parameters,
            reuse=ask.reuse,
            name=ask.name,
        )
        return dict(run)

    def runs(self, query: RunQuery) -> dict[str, Any]:
        return dict(self.client.list_runs(**dataclasses.asdict(query)))

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.client.get_run(run_id))

    def log_batches(self, run_id: str, *, follow: bool) -> Iterator[list[dict[str, Any]]]:
        if follow:  # the stream hands over one line per event
            yield from ([dict(line)] for line in self.client.follow_logs(run_id))
            return
        after = 0
        while True:
            page = self.client.run_logs(run_id, after=after, limit=1000)
            if page:
                yield [dict(line) for line in page]
            if len(page) < 1000:
                return
            after = page[-1]["seq"]

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]:
        return dict(self.client.wait_run(run_id, timeout=timeout, poll=0.5))

    def cancel(self, run_id: str) -> dict[str, Any]:
        return dict(self.client.cancel_run(run_id))

    def rerun(self, run_id: str, *, reuse: bool) -> dict[str, Any]:
        return dict(self.client.rerun(run_id, reuse=reuse))

    def remove(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    def executing(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the service's executor carries runs out

    def outputs_location(self, run: dict[str, Any]) -> str:
        return f"{self.client.url}api/runs/{run['id']}/outputs/"


def open_platform() -> Platform:
    """The service named by ``MLK_SERVICE_URL`` (token: ``MLK_SERVICE_TOKEN`` or
    ``JUPYTERHUB_API_TOKEN``), or the embedded library when it is not set."""
    if client_settings().service_url:
        from mlrun_kernel.client import Client

        return Remote(Client())
    return Embedded()
