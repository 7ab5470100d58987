"""A light JupyterHub for the service's API tests: the project's own config, no containers.

It loads the repository's ``jupyterhub_config.py`` (groups, custom scopes,
roles, the managed ``models`` service) and changes only what the tests need:
the ``simple`` spawner instead of DockerSpawner (the tests need tokens, not
notebooks), and a ``token-issuer`` service allowed to make tokens for users.
"""

import os

c = get_config()  # noqa: F821
load_subconfig(os.environ["MLK_TEST_REAL_CONFIG"])  # noqa: F821

c.JupyterHub.spawner_class = "simple"
c.JupyterHub.services.append({"name": "token-issuer", "api_token": os.environ["MLK_TEST_ISSUER_TOKEN"]})
c.JupyterHub.load_roles.append(
    {
        "name": "token-issuer",
        "description": "Tests: create users and issue their tokens.",
        "scopes": ["admin:users", "tokens", "read:users", "list:users"],
        "services": ["token-issuer"],
    }
)
