"""Build images the platform can run, and publish them.

- ``context``: the build context as a tar stream, with the CA bundle pip needs added.
- ``images``: build and push any image through docker-py (the hub's single-user image too),
  with the registry's credentials for the push.
- ``model``: read a model folder's ``mlk.yaml``, build its Dockerfile, bake the
  manifest into labels and ``/mlk/manifest.json``, push to the registry.
"""

from mlrun_kernel.build.context import BUILD_CA_FILENAME, context_tar
from mlrun_kernel.build.images import BuildError, BuiltImage, PushRefused, build_image, push_image
from mlrun_kernel.build.model import BuildFile, ModelBuild, build_model, load_build_file

__all__ = [
    "BUILD_CA_FILENAME",
    "BuildError",
    "BuildFile",
    "BuiltImage",
    "ModelBuild",
    "PushRefused",
    "build_image",
    "build_model",
    "context_tar",
    "load_build_file",
    "push_image",
]
