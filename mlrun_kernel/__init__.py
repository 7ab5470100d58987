"""mlrun_kernel: run machine-learning models that ship as Docker images.

Layers, from the pure core outwards:

- ``spec``: the model image contract (labels, manifest, parameter validation).
- ``config``: every option, declared once, with its environment variable.
- ``build``: build a model image with its manifest baked into labels; push it.
- ``registry``: read images and labels through the Docker Registry HTTP API v2.
- ``store``, ``catalog``, ``datasets``, ``runs``: the SQL store and what lives in it.
- ``service``, ``client``, ``widgets``, ``cli``: the edges people and notebooks use.
"""

__version__ = "0.1.0"

from mlrun_kernel.client import Client, ServiceError  # noqa: E402 - the notebook's front door

__all__ = ["Client", "ServiceError", "__version__"]
