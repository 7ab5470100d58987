"""A synchronous Docker Registry HTTP API v2 client (reads, and deletes by digest)."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from mlrun_kernel.registry.transport import Response, Transport, TransportFailure, TransportTimeout

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX)
_INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
_RETRY_STATUS = {429, 500, 502, 503, 504}


class RegistryError(RuntimeError):
    """A registry request failed. The message names the registry, the request and the cause."""

    def __init__(self, registry: str, request: str, cause: str, status: int | None = None) -> None:
        super().__init__(f"registry {registry}: {request}: {cause}")
        self.registry = registry
        self.request = request
        self.cause = cause
        self.status = status


@dataclass(frozen=True)
class ManifestRef:
    """An image manifest resolved to one platform."""

    repository: str
    digest: str  # the digest of the manifest the tag points at (index digest for lists)
    media_type: str
    config_digest: str
    image_digest: str  # the platform manifest's own digest


@dataclass(frozen=True)
class ImageConfig:
    digest: str
    labels: dict[str, str]
    raw: dict[str, Any]


def _engine_platform() -> tuple[str, str]:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return "linux", arch


def _next_link(response: Response) -> str | None:
    link = response.headers.get("link")
    if not link:
        return None
    # RFC 5988: </v2/_catalog?last=x&n=100>; rel="next"
    target, _, params = link.partition(";")
    if 'rel="next"' not in params.replace(" ", ""):
        return None
    return target.strip().strip("<>")


class RegistryClient:
    """Talks to one registry. Auth: none, basic where the registry asks for it (a 401 with a
    Basic challenge), or the bearer-token challenge flow."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        verify: bool | str = True,
        retries: int = 3,
        backoff: float = 0.3,
        page_size: int = 100,
    ) -> None:
        self.url = url.rstrip("/")
        self._auth: tuple[str, str] | None = (username, password or "") if username is not None else None
        self._retries = retries
        self._backoff = backoff
        self.page_size = page_size
        self._tokens: dict[str, str] = {}
        self._basic_asked = False
        self._http = Transport(timeout=timeout, verify=verify)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------
    def _request(
        self, method: str, path: str, *, scope: str = "", headers: dict[str, str] | None = None
    ) -> Response:
        url = path if path.startswith("http") else urljoin(self.url + "/", path.lstrip("/"))
        what = f"{method} {path}"
        hdrs = dict(headers or {})
        attempt = 0
        challenged = False  # one answer to an auth challenge per request, not counted as a retry
        while True:
            if scope in self._tokens:
                hdrs["Authorization"] = f"Bearer {self._tokens[scope]}"
            # Basic credentials go only to a registry that asked for them (a 401 with a
            # Basic challenge), then with every request: an anonymous pull side never sees them.
            send_basic = self._basic_asked and "Authorization" not in hdrs
            try:
                response = self._http.request(
                    method, url, headers=hdrs, auth=self._auth if send_basic else None
                )
            except TransportTimeout as exc:
                if attempt < self._retries:
                    time.sleep(self._backoff * 2**attempt)
                    attempt += 1
                    continue
                raise RegistryError(self.url, what, f"timed out ({exc})") from exc
            except TransportFailure as exc:
                if attempt < self._retries:
                    time.sleep(self._backoff * 2**attempt)
                    attempt += 1
                    continue
                raise RegistryError(self.url, what, f"cannot connect: {exc}") from exc
            if response.status_code == 401 and not challenged:
                challenge = response.headers.get("www-authenticate", "")
                kind = challenge.split(" ", 1)[0].lower()
                if kind == "bearer":  # no token for this scope yet, or it expired
                    self._tokens[scope] = self._fetch_token(challenge, scope)
                    challenged = True
                    continue
                if kind == "basic" and self._auth is not None and not send_basic:
                    self._basic_asked = True
                    challenged = True
                    continue
            if response.status_code in _RETRY_STATUS and attempt < self._retries:
                delay = float(response.headers.get("retry-after", self._backoff * 2**attempt))
                time.sleep(min(delay, 10.0))
                attempt += 1
                continue
            if response.status_code == 401:
                raise RegistryError(self.url, what, _unauthorized_text(response, self._auth), 401)
            if response.status_code >= 400:
                raise RegistryError(self.url, what, _error_text(response), response.status_code)
            return response

    def _fetch_token(self, challenge: str, scope: str) -> str:
        params = dict(_parse_challenge(challenge))
        realm = params.pop("realm", None)
        if not realm:
            raise RegistryError(self.url, "token", f"bearer challenge without realm: {challenge!r}")
        if scope:
            params["scope"] = scope
        try:
            response = self._http.request("GET", realm, params=params, auth=self._auth)
        except (TransportTimeout, TransportFailure) as exc:
            raise RegistryError(self.url, f"GET {realm}", f"token request failed: {exc}") from exc
        if response.status_code >= 400:
            raise RegistryError(self.url, f"GET {realm}", _error_text(response), response.status_code)
        body = _json(response, self.url, f"GET {realm}")
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise RegistryError(self.url, f"GET {realm}", "token response has no token")
        return token

    def _json_request(
        self, path: str, *, scope: str = "", accept: str = "application/json"
    ) -> tuple[Response, Any]:
        response = self._request("GET", path, scope=scope, headers={"Accept": accept})
        return response, _json(response, self.url, f"GET {path}")

    # -- API -------------------------------------------------------------------
    def ping(self) -> None:
        """Raise RegistryError unless the registry answers the v2 base endpoint."""
        self._request("GET", "/v2/")

    def repositories(self) -> Iterator[str]:
        """Every repository in the catalog, following ``Link`` pagination."""
        path: str | None = f"/v2/_catalog?n={self.page_size}"
        while path:
            response, body = self._json_request(path, scope="registry:catalog:*")
            repos = body.get("repositories") if isinstance(body, dict) else None
            if not isinstance(repos, list):
                raise RegistryError(self.url, f"GET {path}", "answer has no 'repositories' list")
            yield from (str(r) for r in repos)
            path = _next_link(response)

    def tags(self, repository: str) -> list[str]:
        """Tags of ``repository`` (empty when every tag was deleted)."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n={self.page_size}"
        while path:
            response, body = self._json_request(path, scope=f"repository:{repository}:pull")
            if not isinstance(body, dict):
                raise RegistryError(self.url, f"GET {path}", "answer is not a JSON object")
            tags.extend(str(t) for t in body.get("tags") or [])
            path = _next_link(response)
        return tags

    def manifest(self, repository: str, reference: str) -> ManifestRef:
        """Resolve a tag or digest to this engine's platform manifest."""
        path = f"/v2/{repository}/manifests/{reference}"
        response, body = self._json_request(
            path, scope=f"repository:{repository}:pull", accept=", ".join(MANIFEST_MEDIA_TYPES)
        )
        media_type = response.headers.get("content-type", "").split(";")[0] or body.get("mediaType", "")
        digest = response.headers.get("docker-content-digest", "")
        if media_type in _INDEX_TYPES or body.get("mediaType") in _INDEX_TYPES:
            chosen = self._pick_platform(body, f"GET {path}")
            inner = self.manifest(repository, chosen)
            return ManifestRef(
                repository, digest or chosen, media_type, inner.config_digest, inner.image_digest
            )
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise RegistryError(
                self.url,
                f"GET {path}",
                f"manifest ({media_type or 'unknown type'}) has no config digest",
            )
        return ManifestRef(repository, digest, media_type, config["digest"], digest)

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The digest a tag points at, from a HEAD request: no body, no blob."""
        path = f"/v2/{repository}/manifests/{reference}"
        response = self._request(
            "HEAD",
            path,
            scope=f"repository:{repository}:pull",
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
        )
        digest = response.headers.get("docker-content-digest")
        if not digest:
            # Some registries omit the header on HEAD; the full GET always resolves.
            return self.manifest(repository, reference).digest
        return digest

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (every tag on it goes too); needs deletes enabled."""
        self._request(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete",
        )

    def _pick_platform(self, index: dict[str, Any], what: str) -> str:
        want_os, want_arch = _engine_platform()
        for entry in index.get("manifests") or []:
            plat = entry.get("platform") or {}
            if plat.get("os") == want_os and plat.get("architecture") == want_arch:
                return str(entry["digest"])
        raise RegistryError(self.url, what, f"no manifest for platform {want_os}/{want_arch} in the index")

    def config(self, repository: str, config_digest: str) -> ImageConfig:
        """The image config blob (labels live in ``config.Labels``)."""
        path = f"/v2/{repository}/blobs/{config_digest}"
        _, body = self._json_request(path, scope=f"repository:{repository}:pull", accept="*/*")
        if not isinstance(body, dict):
            raise RegistryError(self.url, f"GET {path}", "config blob is not a JSON object")
        labels = (body.get("config") or {}).get("Labels") or {}
        return ImageConfig(config_digest, {str(k): str(v) for k, v in labels.items()}, body)

    def labels(self, repository: str, reference: str) -> dict[str, str]:
        """Labels of the image at ``reference``, read without pulling it."""
        ref = self.manifest(repository, reference)
        return self.config(repository, ref.config_digest).labels


def _parse_challenge(challenge: str) -> Iterator[tuple[str, str]]:
    _, _, rest = challenge.partition(" ")
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            yield key.strip(), value.strip().strip('"')


def _json(response: Response, registry: str, what: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        ctype = response.headers.get("content-type", "none")
        raise RegistryError(registry, what, f"answer is not JSON (content type {ctype}): {exc}") from exc


def _unauthorized_text(response: Response, auth: tuple[str, str] | None) -> str:
    who = f"user {auth[0]!r} was refused" if auth else "no credentials were given"
    return (
        f"{_error_text(response)}: {who}; set MLK_REGISTRY_USERNAME and MLK_REGISTRY_PASSWORD "
        "(or MLK_REGISTRY_PASSWORD_FILE) to credentials this registry accepts"
    )


def _error_text(response: Response) -> str:
    try:
        errors = response.json().get("errors") or []
        detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError):
        detail = response.text[:200]
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")
