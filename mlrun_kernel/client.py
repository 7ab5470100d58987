"""The notebook side of the model service: a small synchronous HTTP client.

Inside a single-user server everything it needs is already in the environment:
``MLK_SERVICE_URL`` (set by the hub's ``jupyterhub_config.py``, the service's
URL as the container reaches it) and ``JUPYTERHUB_API_TOKEN`` (the server's own
hub token, granted ``access:services!service=models``). Widgets and notebooks
just call ``Client()``.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_SERVICE_URL = "http://127.0.0.1:8000/services/models/"


class ServiceError(RuntimeError):
    """A call to the model service failed; the message says where, how and why."""

    def __init__(self, message: str, *, url: str, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.detail = detail


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
        base = url or os.environ.get("MLK_SERVICE_URL") or DEFAULT_SERVICE_URL
        self.url = base.rstrip("/") + "/"
        token = token if token is not None else os.environ.get("JUPYTERHUB_API_TOKEN")
        headers = {"Authorization": f"token {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """The service's health answer (no token needed)."""
        return self._get("api/health")

    def list_models(self) -> list[dict[str, Any]]:
        """Every model image tag in the registry: repository, tag, digest, title, ... or problem."""
        return self._get("api/models")

    def _get(self, path: str) -> Any:
        url = self.url + path
        try:
            response = self._http.get(path)
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"cannot reach the model service at {url}: {exc}. "
                "Is the hub's 'models' service running, and MLK_SERVICE_URL right?",
                url=url,
            ) from exc
        if response.is_success:
            return response.json()
        detail: Any = response.text.strip()[:500]
        try:
            body = response.json()
            if isinstance(body, dict) and "detail" in body:
                detail = body["detail"]
        except ValueError:
            pass
        raise ServiceError(
            f"the model service answered {response.status_code} at GET {url}: {detail}",
            url=url,
            status=response.status_code,
            detail=detail,
        )
