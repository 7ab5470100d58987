"""The registry client against registries that misbehave or ask for auth.

A real registry cannot be made to answer garbage, fail on cue or run a token
service, so these tests serve exactly those answers from a small local HTTP
server; everything else is tested against the real registry.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlrun_kernel.registry import RegistryClient, RegistryError

Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[BaseHTTPRequestHandler], Answer]


class FakeRegistry:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                outer.requests.append((self.command, self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                route = outer.routes.get(path)
                status, headers, body = route(self) if route else (404, {}, b"{}")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    yield server
    server.close()


def ok_json(body: object, ctype: str = "application/json") -> Answer:
    return 200, {"Content-Type": ctype}, json.dumps(body).encode()


def test_garbage_json_names_the_registry_request_and_content_type(fake):
    fake.routes["/v2/_catalog"] = lambda h: (
        200,
        {"Content-Type": "text/html"},
        b"<html>proxy login</html>",
    )
    with pytest.raises(RegistryError) as err, RegistryClient(fake.url, retries=0) as client:
        list(client.repositories())
    message = str(err.value)
    assert fake.url in message and "GET /v2/_catalog" in message
    assert "not JSON (content type text/html)" in message


def test_transient_500s_are_retried_with_backoff(fake):
    calls = []

    def flaky(h: BaseHTTPRequestHandler) -> Answer:
        calls.append(time.monotonic())
        return (500, {}, b"oops") if len(calls) < 3 else ok_json({"repositories": ["a"]})

    fake.routes["/v2/_catalog"] = flaky
    with RegistryClient(fake.url, retries=3, backoff=0.05) as client:
        assert list(client.repositories()) == ["a"]
    assert len(calls) == 3
    assert calls[2] - calls[1] >= calls[1] - calls[0]  # backoff grows


def test_persistent_503_fails_with_the_status_and_the_registrys_words(fake):
    body = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "maintenance"}]}).encode()
    fake.routes["/v2/team/x/tags/list"] = lambda h: (
        503,
        {"Content-Type": "application/json"},
        body,
    )
    with (
        pytest.raises(RegistryError) as err,
        RegistryClient(fake.url, retries=1, backoff=0.01) as client,
    ):
        client.tags("team/x")
    assert err.value.status == 503
    assert "HTTP 503 (UNAVAILABLE: maintenance)" in str(err.value)


def test_429_honours_retry_after(fake):
    answers = iter([(429, {"Retry-After": "0"}, b""), ok_json({"name": "x", "tags": ["1"]})])
    fake.routes["/v2/x/tags/list"] = lambda h: next(answers)
    with RegistryClient(fake.url, retries=2) as client:
        assert client.tags("x") == ["1"]


def test_a_registry_that_hangs_times_out_with_a_clear_error(fake):
    def slow(h: BaseHTTPRequestHandler) -> Answer:
        time.sleep(1.0)
        return ok_json({"repositories": []})

    fake.routes["/v2/_catalog"] = slow
    with (
        pytest.raises(RegistryError, match="timed out"),
        RegistryClient(fake.url, timeout=0.2, retries=1, backoff=0.01) as c,
    ):
        list(c.repositories())


def test_a_manifest_with_the_wrong_content_type_and_no_config_is_refused(fake):
    fake.routes["/v2/x/manifests/1"] = lambda h: ok_json({"hello": "world"}, "text/plain")
    with (
        pytest.raises(RegistryError, match="has no config digest"),
        RegistryClient(fake.url, retries=0) as c,
    ):
        c.manifest("x", "1")


def test_bearer_challenge_flow_gets_a_scoped_token_with_basic_credentials(fake):
    expected_basic = "Basic " + base64.b64encode(b"ana:s3cret").decode()
    token_requests: list[str] = []

    def token(h: BaseHTTPRequestHandler) -> Answer:
        token_requests.append(h.path)
        if h.headers.get("Authorization") != expected_basic:
            return 401, {}, b"{}"
        return ok_json({"token": "tok-123"})

    def tags(h: BaseHTTPRequestHandler) -> Answer:
        if h.headers.get("Authorization") != "Bearer tok-123":
            challenge = f'Bearer realm="{fake.url}/token",service="fake",scope="repository:team/x:pull"'
            return 401, {"WWW-Authenticate": challenge}, b"{}"
        return ok_json({"name": "team/x", "tags": ["1.0.0"]})

    fake.routes["/token"] = token
    fake.routes["/v2/team/x/tags/list"] = tags
    with RegistryClient(fake.url, username="ana", password="s3cret") as client:
        assert client.tags("team/x") == ["1.0.0"]
        assert client.tags("team/x") == ["1.0.0"]  # the token is reused
    assert len(token_requests) == 1
    assert "service=fake" in token_requests[0] and "scope=repository%3Ateam%2Fx%3Apull" in token_requests[0]


def test_wrong_basic_credentials_fail_with_401(fake):
    def tags(h: BaseHTTPRequestHandler) -> Answer:
        good = "Basic " + base64.b64encode(b"ana:right").decode()
        if h.headers.get("Authorization") != good:
            return (
                401,
                {"WWW-Authenticate": 'Basic realm="r"'},
                b'{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}',
            )
        return ok_json({"tags": ["1"]})

    fake.routes["/v2/x/tags/list"] = tags
    with RegistryClient(fake.url, username="ana", password="right") as client:
        assert client.tags("x") == ["1"]
    with (
        pytest.raises(RegistryError) as err,
        RegistryClient(fake.url, username="ana", password="wrong") as client,
    ):
        client.tags("x")
    assert err.value.status == 401 and "UNAUTHORIZED" in str(err.value)


def test_basic_credentials_go_only_to_a_registry_that_asks_for_them(fake):
    # An anonymous pull side (the project's registry) never sees the push password ...
    fake.routes["/v2/open/tags/list"] = lambda h: ok_json({"tags": ["1"]})
    with RegistryClient(fake.url, username="mlk", password="s3cret") as client:
        assert client.tags("open") == ["1"]
        assert client.tags("open") == ["1"]
    assert all("authorization" not in {k.lower() for k in headers} for _, _, headers in fake.requests)

    # ... one that answers 401 with a Basic challenge gets them, once asked, then every time.
    fake.requests.clear()
    good = "Basic " + base64.b64encode(b"mlk:s3cret").decode()

    def locked(h: BaseHTTPRequestHandler) -> Answer:
        if h.headers.get("Authorization") != good:
            return 401, {"WWW-Authenticate": 'Basic realm="pushes"'}, b"{}"
        return ok_json({"tags": ["2"]})

    fake.routes["/v2/locked/tags/list"] = locked
    with RegistryClient(fake.url, username="mlk", password="s3cret", retries=0) as client:
        assert client.tags("locked") == ["2"]
        assert client.tags("locked") == ["2"]
    sent = [
        {k.lower(): v for k, v in headers.items()}.get("authorization") for _, _, headers in fake.requests
    ]
    assert sent == [None, good, good]


def test_a_registry_that_wants_credentials_nobody_gave_says_which_settings_to_set(fake):
    fake.routes["/v2/locked/tags/list"] = lambda h: (
        401,
        {"WWW-Authenticate": 'Basic realm="pushes"'},
        b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
    )
    with pytest.raises(RegistryError) as err, RegistryClient(fake.url, retries=0) as client:
        client.tags("locked")
    assert err.value.status == 401
    assert "no credentials were given" in str(err.value) and "MLK_REGISTRY_PASSWORD" in str(err.value)
