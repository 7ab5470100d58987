"""Names users type are checked with messages that say what is wrong (pure logic)."""

from __future__ import annotations

import pytest

from mlrun_kernel.datasets import InvalidInput, InvalidName
from mlrun_kernel.datasets.names import (
    split_ref,
    validate_dataset_name,
    validate_description,
    validate_filename,
    validate_member_path,
)


@pytest.mark.parametrize(
    "name", ["sales", "sales-2024", "Iris v2 (clean)", "données_été", "a.b_c+d@e,f=g", "x" * 200]
)
def test_ordinary_names_are_accepted(name):
    assert validate_dataset_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "dataset name is empty"),
        ("x" * 10_000, "dataset name is 10000 characters long; at most 200 are allowed"),
        ("x" * 201, "201 characters long"),
        ("../etc", "looks like a path ('..' and '.' are not allowed)"),
        ("..", "looks like a path"),
        ("a/b", "contains '/': names cannot hold path separators"),
        ("/etc", "contains '/'"),
        ("a\\b", "contains '\\\\'"),
        ("bad\x00name", "contains a NUL byte"),
        ("bell\x07", "contains the control character U+0007 at position 4"),
        ("new\nline", "control character U+000A"),
        ("rtl\u202eoverride", "control character U+202E"),
        (" padded", "starts or ends with a space"),
        (".hidden", "starts with '.'"),
        ("semi;colon", "contains ';', which is not allowed"),
    ],
)
def test_bad_dataset_names_are_refused_saying_why(name, message):
    with pytest.raises(InvalidName) as err:
        validate_dataset_name(name)
    assert message in str(err.value)


def test_a_name_that_is_not_text_is_refused():
    with pytest.raises(InvalidName, match="must be text, not int"):
        validate_dataset_name(42)


def test_file_names_are_single_components():
    assert validate_filename("iris.csv") == "iris.csv"
    with pytest.raises(InvalidName, match="contains a path separator"):
        validate_filename("../../etc/passwd")
    with pytest.raises(InvalidName, match="is not a file name"):
        validate_filename("..")
    with pytest.raises(InvalidName, match="file name is empty"):
        validate_filename("")


@pytest.mark.parametrize(
    ("path", "normal"),
    [("a/b.csv", "a/b.csv"), ("./a//b.csv", "a/b.csv"), ("dir/", "dir")],
)
def test_member_paths_are_normalised(path, normal):
    assert validate_member_path(path) == normal


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../evil.sh", "climbs out with '..' (path traversal is refused)"),
        ("a/../../evil", "climbs out with '..'"),
        ("/etc/passwd", "is absolute"),
        ("C:/Windows/x", "is absolute"),
        ("a\\..\\b", "contains a backslash"),
        ("a/\x00b", "NUL byte"),
        ("./", "names no file"),
        ("a/" + "x" * 300, "component longer than 255 bytes"),
    ],
)
def test_unsafe_member_paths_are_refused(path, message):
    with pytest.raises(InvalidName) as err:
        validate_member_path(path)
    assert message in str(err.value)


def test_refs_name_an_owner_or_not():
    assert split_ref("sales") == (None, "sales")
    assert split_ref("ana/sales") == ("ana", "sales")
    with pytest.raises(InvalidName, match="looks like a path"):
        split_ref("../sales")
    with pytest.raises(InvalidName, match="contains '/'"):
        split_ref("ana/sales/extra")


def test_descriptions_are_bounded():
    assert validate_description("ok") == "ok"
    with pytest.raises(InvalidInput, match="at most 10000"):
        validate_description("x" * 10_001)
