"""The model service: the hub-managed process that alone talks to Docker and the registry.

``create_app`` builds the FastAPI app (see ``app.py`` for how the modules
stack); ``python -m mlrun_kernel.service`` runs it with uvicorn where
JupyterHub says (``JUPYTERHUB_SERVICE_URL``). docs/service.md is the guide.
"""

from mlrun_kernel.service.app import create_app
from mlrun_kernel.service.auth import AuthError, Caller, HubTokenAuth, HubUser
from mlrun_kernel.service.config import ServiceSettings

__all__ = [
    "AuthError",
    "Caller",
    "HubTokenAuth",
    "HubUser",
    "ServiceSettings",
    "create_app",
]
