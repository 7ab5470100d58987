"""Server-wide Jupyter config of the single-user image (/etc/jupyter/).

JupyterHub's `jupyterhub-singleuser` loads it like any jupyter-server config;
the hub's own settings (base URL, auth, default URL) come on top through the
environment DockerSpawner sets, so keep this file to what the image decides.
"""

from mlrun_kernel.config import client_settings

c = get_config()  # noqa: F821 -- injected by traitlets when the file is loaded

# Voila runs as a jupyter-server extension (`voila.json` in jupyter_server_config.d
# enables it), so apps live at /user/<name>/voila/render/apps/<notebook>.ipynb.
# The `mlk` template is Voila's `lab` template (ipyvuetify widgets rendered by
# JupyterLab's widget manager; voila-vuetify would pin Voila < 0.5) with Font
# Awesome served from the image instead of a CDN (voila-templates/mlk/).
c.VoilaConfiguration.template = "mlk"
c.VoilaConfiguration.theme = "light"
# Users see outputs only: never the sources, and no tracebacks with internals.
c.VoilaConfiguration.strip_sources = True
c.VoilaConfiguration.show_tracebacks = False

# Returning users do not wait for a kernel start: the server keeps a warm kernel (the apps'
# modules imported, no cell run) for the apps' folder, and each Voila page takes one, with
# the page's query string and request variables put into it first (mlrun_kernel/hub/warm.py;
# Voila's own preheat_kernel does not work in this server-extension mode). The pool is
# filled at start by the mlrun_kernel.hub.warm extension (jupyter_server_config.d/).
c.ServerApp.kernel_manager_class = "mlrun_kernel.hub.warm.WarmKernelManager"
c.WarmKernelManager.warm_kernels = {"apps": 1}

# Kernels that run nothing and that no tab is connected to (a Voila tab closed without its
# shutdown call, a notebook closed) are shut down after MLK_KERNEL_IDLE_TIMEOUT seconds
# (ClientSettings.kernel_idle_timeout; 0 keeps them): each holds memory inside the
# container's limit. Busy kernels (an expert's long cell) and warm kernels stay.
KERNEL_IDLE_TIMEOUT = client_settings().kernel_idle_timeout
c.MappingKernelManager.cull_idle_timeout = KERNEL_IDLE_TIMEOUT
c.MappingKernelManager.cull_interval = min(300, max(1, KERNEL_IDLE_TIMEOUT // 2))
c.MappingKernelManager.cull_connected = False
c.MappingKernelManager.cull_busy = False
