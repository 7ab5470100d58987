"""List model images straight from the registry (no store): tags, digests, parsed labels."""

from __future__ import annotations

from dataclasses import dataclass

from mlrun_kernel.registry import RegistryClient
from mlrun_kernel.spec import ModelImage, SpecError, is_model_image, parse_labels


@dataclass(frozen=True)
class CatalogEntry:
    """One tag of a model repository. ``problem`` says why ``image`` is None."""

    repository: str
    tag: str
    digest: str
    image: ModelImage | None
    problem: str | None = None


def list_registry_models(registry_url: str, **client_options: object) -> list[CatalogEntry]:
    """Every tag whose image carries the contract labels; broken manifests keep their problem.

    Images without the contract are not models and are left out. Each config
    blob is fetched once per digest.
    """
    entries: list[CatalogEntry] = []
    with RegistryClient(registry_url, **client_options) as registry:  # type: ignore[arg-type]
        configs: dict[str, dict[str, str]] = {}
        for repository in registry.repositories():
            for tag in sorted(registry.tags(repository)):
                ref = registry.manifest(repository, tag)
                if ref.config_digest not in configs:
                    configs[ref.config_digest] = registry.config(
                        repository, ref.config_digest
                    ).labels
                labels = configs[ref.config_digest]
                if not is_model_image(labels):
                    continue
                try:
                    entries.append(CatalogEntry(repository, tag, ref.digest, parse_labels(labels)))
                except SpecError as exc:
                    entries.append(CatalogEntry(repository, tag, ref.digest, None, str(exc)))
    return entries
