"""The model image contract, as code (normative text: ``docs/model-spec.md``).

An image is a model when its labels say so. This package reads and writes
those labels and checks everything in them; it knows nothing of Docker, HTTP
or storage, so the catalog, the build, the runner and the forms all call the
same functions. The layers, from the outside in:

- :mod:`.labels`: ``io.mlkernel.*`` and OCI labels <-> :class:`ModelImage`
  (:func:`parse_labels` for the catalog, :func:`labels_for` for the build,
  :func:`is_model_image` to sort images).
- :mod:`.manifest`: the ``io.mlkernel.manifest`` JSON <-> :class:`Manifest`
  and its parts (:class:`Task`, :class:`InputSpec`, :class:`OutputSpec`,
  :class:`MetricSpec`, :class:`Resources`, :class:`Example`), checked against
  the shipped ``manifest.schema.json`` and then semantically.
- :mod:`.parameters`: each task's parameters JSON Schema: is the schema sound
  (:func:`check_json_schema`, :func:`check_parameters_schema`), fill its
  defaults (:func:`fill_defaults`), validate a run's values
  (:func:`parameter_errors`, :func:`validate_parameters`).
- :mod:`.versions`: semantic versions (:func:`is_semver`, :func:`semver_key`,
  :func:`highest`): the catalog's order and which version ``:latest`` names.
- :mod:`.errors`: :class:`SpecError` and its kinds; each lists every problem
  as a :class:`SpecIssue` (path and message).
"""

from .errors import LabelError, ManifestError, ParameterError, SpecError, SpecIssue
from .labels import (
    LABEL_MANIFEST,
    LABEL_SPEC_VERSION,
    MAX_MANIFEST_BYTES,
    METADATA_LABELS,
    SPEC_VERSION,
    ModelImage,
    ModelMetadata,
    is_model_image,
    labels_for,
    parse_labels,
)
from .manifest import (
    Example,
    InputSpec,
    Manifest,
    MetricSpec,
    OutputSpec,
    Resources,
    Task,
    manifest_schema,
    manifest_to_data,
    manifest_to_json,
    parse_manifest,
)
from .parameters import (
    DRAFT_7,
    DRAFT_2020_12,
    EMPTY_PARAMETERS_SCHEMA,
    MAX_NESTING,
    Draft,
    check_json_schema,
    check_parameters_schema,
    fill_defaults,
    load_validator,
    parameter_errors,
    validate_parameters,
)
from .versions import highest, is_semver, semver_key

__all__ = [
    "DRAFT_2020_12",
    "DRAFT_7",
    "EMPTY_PARAMETERS_SCHEMA",
    "LABEL_MANIFEST",
    "LABEL_SPEC_VERSION",
    "MAX_MANIFEST_BYTES",
    "MAX_NESTING",
    "METADATA_LABELS",
    "SPEC_VERSION",
    "Draft",
    "Example",
    "InputSpec",
    "LabelError",
    "Manifest",
    "ManifestError",
    "MetricSpec",
    "ModelImage",
    "ModelMetadata",
    "OutputSpec",
    "ParameterError",
    "Resources",
    "SpecError",
    "SpecIssue",
    "Task",
    "check_json_schema",
    "check_parameters_schema",
    "fill_defaults",
    "highest",
    "is_semver",
    "is_model_image",
    "labels_for",
    "load_validator",
    "manifest_schema",
    "manifest_to_data",
    "manifest_to_json",
    "parameter_errors",
    "parse_labels",
    "parse_manifest",
    "semver_key",
    "validate_parameters",
]
