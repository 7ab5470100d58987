"""An expert publishes a model; the platform reads it back from the registry without pulling."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from mlrun_kernel.build.model import load_build_file
from mlrun_kernel.catalog import list_models, sync_catalog
from mlrun_kernel.registry import RegistryClient
from mlrun_kernel.spec import LABEL_MANIFEST, parse_labels, parse_manifest
from mlrun_kernel.store import open_store
from tests.paths import EXAMPLES

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def test_published_manifest_reads_back_identical_through_v2_api(published_examples, registry_url):
    for folder in EXAMPLES:
        build = published_examples[folder.name]
        declared = yaml.safe_load((folder / "mlk.yaml").read_text())
        repo = declared["image"]
        # Plain HTTP against the v2 API: manifest -> config blob -> labels.
        accept = "application/vnd.docker.distribution.manifest.v2+json"
        manifest = httpx.get(
            f"{registry_url}/v2/{repo}/manifests/{declared['version']}", headers={"Accept": accept}
        ).json()
        config = httpx.get(f"{registry_url}/v2/{repo}/blobs/{manifest['config']['digest']}").json()
        labels = config["config"]["Labels"]
        assert json.loads(labels[LABEL_MANIFEST]) == json.loads(build.labels[LABEL_MANIFEST])
        # mlk.yaml's manifest, with the fields it also takes at its top level (release_notes, ...)
        assert parse_manifest(labels[LABEL_MANIFEST]) == load_build_file(folder).manifest
        image = parse_labels(labels)
        assert image.metadata.title == declared["title"]
        assert image.metadata.version == str(declared["version"])


def test_registry_client_resolves_tags_to_the_pushed_digest(published_examples, registry_url):
    with RegistryClient(registry_url) as registry:
        repos = set(registry.repositories())
        for folder in EXAMPLES:
            build = published_examples[folder.name]
            repo = build.image.split("/", 1)[1].rsplit(":", 1)[0]
            assert repo in repos
            assert {"latest", build.image.rsplit(":", 1)[1]} <= set(registry.tags(repo))
            assert registry.manifest(repo, "latest").digest == build.digest


def test_catalog_lists_every_example_with_title_and_tasks(published_examples, registry_url, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    with RegistryClient(registry_url) as registry:
        assert sync_catalog(store, registry).error is None
    models = {m.name: m for m in list_models(store)}
    for folder in EXAMPLES:
        declared = yaml.safe_load((folder / "mlk.yaml").read_text())
        model = models[declared["image"]]
        assert (model.title, model.version) == (declared["title"], str(declared["version"]))
        assert "latest" in model.tags and model.tasks == sorted(declared["manifest"]["tasks"])
    store.close()


def test_image_carries_the_manifest_file_identical_to_the_label(published_examples, docker_client):
    import io
    import tarfile

    for build in published_examples.values():
        # Read the file out of a created (never started) container: no logs, no races.
        container = docker_client.containers.create(build.image, ["true"])
        try:
            stream, _ = container.get_archive("/mlk/manifest.json")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile("manifest.json")
                assert member is not None
                assert json.loads(member.read()) == json.loads(build.labels[LABEL_MANIFEST])
        finally:
            container.remove(force=True)
