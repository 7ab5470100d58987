#!/bin/sh
# Entrypoint of the single-user image: the home folder is the user's named volume
# (it outlives containers and image updates), so at every start the Voila apps are
# refreshed from the image and curated notebooks the user does not have are added
# (edited ones are left alone). Then the server command (jupyterhub-singleuser).
set -e
home=${HOME:-/home/jovyan}
rm -rf "$home/apps"
cp -r /opt/mlk/apps "$home/apps"
mkdir -p "$home/notebooks"
cp -rn /opt/mlk/notebooks/. "$home/notebooks/" 2>/dev/null || true
exec "$@"
