#!/bin/sh
# Entrypoint of the single-user image: the home folder is the user's named volume
# (it outlives containers and image updates), so at every start the Voila apps are
# refreshed from the image and curated notebooks the user does not have are added
# (edited ones are left alone), and the JupyterLab launcher's entries for the apps
# are written. Then the server command (jupyterhub-singleuser).
set -e
home=${HOME:-/home/jovyan}
rm -rf "$home/apps"
cp -r /opt/mlk/apps "$home/apps"
mkdir -p "$home/notebooks"
cp -rn /opt/mlk/notebooks/. "$home/notebooks/" 2>/dev/null || true
# JupyterLab's launcher gets a card per app, under this server's prefix (mlrun_kernel.hub.launcher).
export JUPYTER_APP_LAUNCHER_PATH=/tmp/mlk-launcher
python -m mlrun_kernel.hub.launcher "$JUPYTER_APP_LAUNCHER_PATH" >/dev/null || echo "mlk-start: no launcher entries" >&2
exec "$@"
