"""A model allowed the network reaches the outside, and nothing of the platform.

Each network-enabled run gets a bridge network of its own, walled off by
host firewall rules; these tests probe from inside a real run container the
addresses a model must never reach: the host's docker0 address (where the
hub API and the model service listen), the registry, a container on the
default bridge, and another run's container. A listener in a network
namespace of its own stands for the internet, which the run must still
reach.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from mlrun_kernel.runs import Executor, RunRequest
from mlrun_kernel.runs.backends.firewall import COMMENT_PREFIX
from tests.conftest import free_port

pytestmark = [pytest.mark.docker, pytest.mark.registry]

MODEL = "mlk-test-netprobe"


class Listener:
    """A TCP server on ``host``: answers each connection with ``reply`` and closes it."""

    def __init__(self, host: str, reply: bytes = b"host") -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.addr = f"{host}:{self.sock.getsockname()[1]}"
        self.reply = reply
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            with conn:
                conn.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@contextlib.contextmanager
def listening(host: str) -> Iterator[Listener]:
    listener = Listener(host)
    try:
        yield listener
    finally:
        listener.close()


def host_address() -> str:
    """The host's address on its way out (eth0 here): the host answers there too."""
    out = subprocess.run(["ip", "-4", "route", "get", "192.0.2.123"], capture_output=True, text=True)
    words = out.stdout.split()
    return words[words.index("src") + 1] if "src" in words else "127.0.0.1"


def docker0_address(client: docker.DockerClient) -> str:
    """The host's address on the engine's default bridge, where jupyterhub_config.py binds the
    hub API (:8081) and the model service (:8090)."""
    options = client.api.inspect_network("bridge").get("Options") or {}
    bridge = options.get("com.docker.network.bridge.name", "docker0")
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", bridge], capture_output=True, text=True)
    return out.stdout.split()[3].split("/")[0]


@pytest.fixture
def outside() -> Iterator[str]:
    """``ip:port`` of a listener in a network namespace of its own, routed from the host:
    the stand-in for a server on the internet (there is no internet here)."""
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = f"mlkt-out-{tag}", f"mlkto{tag}", f"mlkti{tag}"
    octet = 100 + int(tag[:2], 16) % 100
    host_ip, ns_ip = f"10.253.{octet}.1", f"10.253.{octet}.2"
    port = free_port()
    steps = [
        ["ip", "netns", "add", ns],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
        ["ip", "link", "set", ns_if, "netns", ns],
        ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if],
        ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
        ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", host_ip],
    ]
    server = None
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        code = (
            "import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('{ns_ip}', {port})); s.listen(16)\n"
            "while True:\n"
            "    c, _ = s.accept(); c.sendall(b'outside'); c.close()\n"
        )
        server = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code])
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((ns_ip, port), timeout=1):
                break
            assert time.monotonic() < deadline, "the outside listener did not come up"
            time.sleep(0.1)
        yield f"{ns_ip}:{port}"
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def bridge_container(docker_client: docker.DockerClient) -> Iterator[str]:
    """``ip:port`` of a container on the engine's default bridge (a user's notebook, say)."""
    port = 8000
    container = docker_client.containers.run(
        "python:3.11-slim-bookworm",
        ["python", "-m", "http.server", str(port)],
        detach=True,
        name=f"mlk-test-bystander-{uuid.uuid4().hex[:8]}",
    )
    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["IPAddress"]
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection((ip, port), timeout=1):
                break
            assert time.monotonic() < deadline, "the bystander did not come up"
            time.sleep(0.2)
        yield f"{ip}:{port}"
    finally:
        container.remove(force=True)


def run_probe(executor: Executor, targets: list[str]) -> Any:
    info = executor.submit(
        RunRequest(model=MODEL, task="probe", owner="ana", parameters={"targets": targets})
    )
    return executor.wait(info.id, timeout=120)


def tagged_rules(run_id: str) -> list[str]:
    listing = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if f"{COMMENT_PREFIX}{run_id}" in line]


def test_a_network_run_reaches_the_outside_but_not_the_platform(
    make_executor, docker_client, registry_addr, outside, bridge_container
):
    executor = make_executor(allow_network=True, max_concurrent_runs=2)
    gateway = docker0_address(docker_client)
    registry_port = registry_addr.rsplit(":", 1)[1]
    # Another user's run, listening on its own network.
    other = executor.submit(
        RunRequest(model=MODEL, task="serve", owner="ben", parameters={"port": 8000, "seconds": 90})
    )
    deadline = time.monotonic() + 60
    while executor.get(other.id).state != "running":
        assert time.monotonic() < deadline, executor.get(other.id)
        time.sleep(0.1)
    served = docker_client.containers.get(f"mlk-run-{other.id}")
    other_ip = next(iter(served.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    assert other_ip, served.attrs["NetworkSettings"]
    with listening(gateway) as hub_api, listening("0.0.0.0") as published:
        published_port = published.addr.rsplit(":", 1)[1]
        platform = {
            "hub API / model service on docker0": hub_api.addr,
            "a port published on every host address": f"{gateway}:{published_port}",
            "the host's own address": f"{host_address()}:{published_port}",
            "the registry": f"{gateway}:{registry_port}",
            "the registry on loopback": registry_addr,
            "a container on the default bridge": bridge_container,
            "another run's container": f"{other_ip}:8000",
        }
        info = run_probe(executor, [outside, *platform.values()])
        accepted = hub_api.accepted + published.accepted
    assert info.state == "succeeded", info.reason
    reached = info.result["reached"]
    assert reached[outside] == "outside", reached
    for what, target in platform.items():
        assert str(reached[target]).startswith("unreachable"), (what, reached[target])
    assert accepted == 0
    assert "eth0" in info.result["interfaces"]
    executor.cancel(other.id)
    executor.wait(other.id, timeout=60)
    # The run's network and its firewall rules go with it.
    for run_id in (info.id, other.id):
        assert docker_client.networks.list(names=[f"mlk-run-{run_id}"]) == []
        assert tagged_rules(run_id) == []


def test_each_network_run_gets_its_own_network(make_executor, docker_client):
    executor = make_executor(allow_network=True)
    first = executor.submit(RunRequest(model=MODEL, task="serve", owner="ana", parameters={"seconds": 30}))
    deadline = time.monotonic() + 60
    while executor.get(first.id).state != "running":
        assert time.monotonic() < deadline, executor.get(first.id)
        time.sleep(0.1)
    container = docker_client.containers.get(f"mlk-run-{first.id}")
    networks = list(container.attrs["NetworkSettings"]["Networks"])
    assert networks == [f"mlk-run-{first.id}"]
    network = docker_client.networks.get(networks[0])
    assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert tagged_rules(first.id), "the run's firewall rules are in place while it runs"
    executor.cancel(first.id)
    assert executor.wait(first.id, timeout=60).state == "cancelled"
    assert docker_client.networks.list(names=[f"mlk-run-{first.id}"]) == []
    assert tagged_rules(first.id) == []


def test_no_network_stays_the_default(make_executor):
    executor = make_executor(allow_network=True)
    info = executor.submit(RunRequest(model="mlk-test-behaving", task="network", owner="ana"))
    assert info.resources["network"] is False
    done = executor.wait(info.id, timeout=120)
    assert done.result["interfaces"] == ["lo"]


def test_a_killed_executor_leaves_no_run_network_behind(make_executor, docker_client):
    """Reconcile sweeps networks (and their rules) whose run is over."""
    from mlrun_kernel.runs.backends.base import LABEL_EXECUTOR, LABEL_RUN, LABEL_STORAGE, ContainerSpec

    executor = make_executor(allow_network=True, start=False)
    backend = executor.backend
    run_id = uuid.uuid4().hex[:16]
    labels = {LABEL_RUN: run_id, LABEL_EXECUTOR: executor.name, LABEL_STORAGE: str(executor.root)}
    spec = ContainerSpec(
        name=f"mlk-run-{run_id}", image="python:3.11-slim-bookworm", command=["true"], env={}, labels=labels,
        mounts=[], network=True,
    )  # fmt: skip
    handle = backend.create(spec)
    docker_client.api.remove_container(handle, force=True)  # as if the executor died here
    assert docker_client.networks.list(names=[f"mlk-run-{run_id}"]) != []
    assert tagged_rules(run_id)
    executor.start()
    deadline = time.monotonic() + 30
    while docker_client.networks.list(names=[f"mlk-run-{run_id}"]) or tagged_rules(run_id):
        assert time.monotonic() < deadline, "reconcile did not sweep the run's network"
        time.sleep(0.2)
