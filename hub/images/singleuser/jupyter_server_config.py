"""Server-wide Jupyter config of the single-user image (/etc/jupyter/).

JupyterHub's `jupyterhub-singleuser` loads it like any jupyter-server config;
the hub's own settings (base URL, auth, default URL) come on top through the
environment DockerSpawner sets, so keep this file to what the image decides.
"""

c = get_config()  # noqa: F821 -- injected by traitlets when the file is loaded

# Voila runs as a jupyter-server extension (`voila.json` in jupyter_server_config.d
# enables it), so apps live at /user/<name>/voila/render/apps/<notebook>.ipynb.
# The `lab` template renders ipyvuetify widgets with JupyterLab's widget manager
# (voila-vuetify would pin Voila < 0.5).
c.VoilaConfiguration.template = "lab"
c.VoilaConfiguration.theme = "light"
# Users see outputs only: never the sources, and no tracebacks with internals.
c.VoilaConfiguration.strip_sources = True
c.VoilaConfiguration.show_tracebacks = False
