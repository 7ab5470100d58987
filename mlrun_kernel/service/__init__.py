"""The model service: the hub-managed process that alone talks to Docker and the registry.

- ``auth``: JupyterHub token checks (who is calling, with which scopes).
- ``app``: the FastAPI app under ``/services/models/`` (``create_app``).
- ``__main__``: ``python -m mlrun_kernel.service`` runs it with uvicorn where
  JupyterHub says (``JUPYTERHUB_SERVICE_URL``).
"""

from mlrun_kernel.service.app import ModelSummary, ServiceSettings, create_app
from mlrun_kernel.service.auth import AuthError, HubTokenAuth, HubUser

__all__ = [
    "AuthError",
    "HubTokenAuth",
    "HubUser",
    "ModelSummary",
    "ServiceSettings",
    "create_app",
]
