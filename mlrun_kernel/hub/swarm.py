"""The notebook servers on a Docker Swarm (``MLK_SPAWNER=swarm``): SwarmSpawner, reachable.

DockerSpawner's ``SwarmSpawner`` runs each server as a one-replica service on
an overlay network. Stock, the proxy reaches it either on the overlay (only
when the hub itself runs in a container on that network) or through the
ingress routing mesh (which needs the engine's iptables rules). This subclass
publishes the server's port in *host* mode instead: the node running the task
opens a port like ``docker run -p`` does, and the proxy goes to that node's
address and port, read from the task (``Status.PortStatus``) and the node
(``Status.Addr``). That works the same on one node and on many, with the hub
outside the swarm, as ``jupyterhub_config.py`` runs it. Stock SwarmSpawner
also mounts every volume as a bind; named volumes (the users' homes) are
mounted as volumes here, with ``volume_driver`` for shared storage. Everything
else (image, limits, labels) is DockerSpawner's, as configured.
"""

from __future__ import annotations

from typing import Any

from docker.types import Mount
from dockerspawner import SwarmSpawner
from traitlets import Unicode


class PublishedPortSwarmSpawner(SwarmSpawner):
    """SwarmSpawner whose servers are reached on the port their node publishes (host mode)."""

    node_address = Unicode(
        "",
        config=True,
        help="""Address the proxy uses for every node; empty: each node's own address in the
        swarm (``Status.Addr``), or 127.0.0.1 for a node that advertises a loopback address.""",
    )

    @property
    def mounts(self) -> list[Mount]:
        """SwarmSpawner mounts every volume as a bind; a named one (the users' homes) is a volume."""
        driver = self.mount_driver_config
        return [
            Mount(
                target=volume["bind"],
                source=source,
                type="bind" if source.startswith("/") else "volume",
                read_only=volume["mode"] == "ro",
                driver_config=None if source.startswith("/") else driver,
            )
            for source, volume in self.volume_binds.items()
        ]

    async def create_object(self) -> Any:
        # Host-mode publishing of the server's port; the engine picks a free host port.
        extra: dict[str, Any] = dict(self.extra_endpoint_spec)  # type: ignore[has-type]
        self.extra_endpoint_spec = {"ports": {None: (self.port, "tcp", "host")}, **extra}
        return await super().create_object()

    async def get_ip_and_port(self) -> tuple[str, int]:
        task = await self.get_task()
        if not task:
            raise RuntimeError(f"no running task for the service {self.service_name}")
        for port in (task.get("Status", {}).get("PortStatus") or {}).get("Ports") or []:
            if port.get("TargetPort") == self.port and port.get("PublishedPort"):
                return await self._node_address(task["NodeID"]), int(port["PublishedPort"])
        raise RuntimeError(
            f"the task of {self.service_name} publishes no port for {self.port}: "
            f"{task.get('Status', {}).get('PortStatus')}"
        )

    async def _node_address(self, node_id: str) -> str:
        if self.node_address:
            return str(self.node_address)
        node = await self.docker("inspect_node", node_id)
        address = str((node.get("Status") or {}).get("Addr") or "")
        return address if address and not address.startswith("0.") else "127.0.0.1"
