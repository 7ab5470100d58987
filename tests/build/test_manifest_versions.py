"""An expert's manifest carries release notes per semantic version and the request it resolves."""

from __future__ import annotations

import pytest

from mlrun_kernel.spec import ManifestError, highest, manifest_to_data, parse_manifest, semver_key

BASE = {"tasks": {"predict": {"description": "Predict."}}}


def test_release_notes_and_resolves_round_trip() -> None:
    data = {**BASE, "release_notes": {"1.0.0": "First.", "1.1.0": "Faster."}, "resolves": "ftr-12"}
    manifest = parse_manifest(data)
    assert manifest.release_notes == {"1.0.0": "First.", "1.1.0": "Faster."}
    assert manifest.resolves == "ftr-12"
    back = manifest_to_data(manifest)
    assert back["release_notes"] == data["release_notes"] and back["resolves"] == "ftr-12"
    assert parse_manifest(back) == manifest


def test_release_note_keyed_by_a_non_version_is_refused_with_its_path() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest({**BASE, "release_notes": {"v1": "First."}})
    assert "release_notes.v1: release note version must be a semantic version" in str(caught.value)


def test_resolves_must_be_a_request_id() -> None:
    with pytest.raises(ManifestError, match="resolves: must be a request id"):
        parse_manifest({**BASE, "resolves": "no spaces allowed"})


def test_versions_order_by_semver_not_by_text() -> None:
    versions = ["1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0", "0.1.0", "2.0.0-alpha"]
    ordered = sorted(versions, key=semver_key, reverse=True)
    assert ordered == ["2.0.0", "2.0.0-rc.2", "2.0.0-rc.1", "2.0.0-alpha", "1.10.0", "1.9.0", "0.1.0"]
    assert highest(["1.9.0", "latest", "1.10.0"]) == "1.10.0"
    assert highest(["latest"]) is None


def test_mlk_yaml_takes_release_notes_next_to_the_version(tmp_path) -> None:
    from mlrun_kernel.build import load_build_file

    (tmp_path / "mlk.yaml").write_text(
        "image: m\ntitle: M\ndescription: d\nversion: 1.1.0\n"
        "release_notes:\n  '1.1.0': Faster.\n  '1.0.0': First.\nresolves: ftr-3\n"
        "manifest:\n  tasks:\n    predict: {description: Predict.}\n"
    )
    spec = load_build_file(tmp_path)
    assert spec.manifest.release_notes == {"1.1.0": "Faster.", "1.0.0": "First."}
    assert spec.manifest.resolves == "ftr-3"


def test_the_catalog_lists_versions_newest_first_by_semver(tmp_path) -> None:
    from mlrun_kernel.catalog import sync_catalog  # noqa: F401 - the catalog's own order is tested here
    from mlrun_kernel.catalog.queries import _semver_key

    versions = ["1.0.0-rc.2", "1.0.0-rc.10", "1.0.0", "0.9.0"]
    assert sorted(versions, key=_semver_key, reverse=True) == ["1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "0.9.0"]
