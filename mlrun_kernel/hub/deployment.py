"""What the notebook containers need from the engine before the first spawn.

``jupyterhub_config.py`` calls :func:`ensure_network` at start: the notebook
containers get a user-defined network of their own (a bridge on one engine,
an attachable overlay on a swarm) instead of Docker's default bridge, so they
resolve each other by name only within the deployment and a deployment's
network can be found, and removed, by its labels.
"""

from __future__ import annotations

from typing import Any


class DeploymentError(RuntimeError):
    """The engine cannot give the notebook containers what the configuration asks for."""


def ensure_network(client: Any, name: str, *, swarm: bool, labels: dict[str, str]) -> str:
    """The network ``name``, made if missing: an attachable overlay for ``swarm``, else a bridge.

    An existing network of the wrong kind is an operator's mistake to fix, not
    to paper over: it is reported, with what to do.
    """
    want = "overlay" if swarm else "bridge"
    found = client.networks.list(names=[name])
    for network in found:
        if network.name != name:
            continue  # names= matches prefixes too
        driver = network.attrs.get("Driver")
        if driver != want:
            raise DeploymentError(
                f"the Docker network {name!r} exists with driver {driver!r}, but MLK_SPAWNER="
                f"{'swarm' if swarm else 'docker'} needs {want!r}: remove it (docker network rm {name}) "
                "or name another one in MLK_SINGLEUSER_NETWORK"
            )
        return name
    try:
        client.networks.create(
            name, driver=want, attachable=swarm or None, labels=labels, check_duplicate=True
        )
    except Exception as exc:  # docker.errors.APIError: no swarm, no permission, ...
        raise DeploymentError(f"cannot create the Docker network {name!r} ({want}): {exc}") from exc
    return name
