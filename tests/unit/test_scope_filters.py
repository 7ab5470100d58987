"""Which custom scopes a hub scope with a filter grants (pure logic of scopes.grants)."""

from __future__ import annotations

import pytest

from mlrun_kernel.service import scopes

ME, MY_GROUPS = "uma", frozenset({"model-users"})


@pytest.mark.parametrize(
    ("scope", "granted"),
    [
        (scopes.ADMIN, set(scopes.ALL)),
        (scopes.RUN, {scopes.RUN, scopes.READ}),
        (f"{scopes.READ}!user=uma", {scopes.READ}),
        (f"{scopes.RUN}!group=model-users", {scopes.RUN, scopes.READ}),
        (f"{scopes.READ}!user=ben", set()),  # someone else's things: not modelled
        (f"{scopes.RUN}!group=model-experts", set()),  # a group the caller is not in
        (f"{scopes.ADMIN}!group=model-users", set()),  # admin over a group: refused
        (f"{scopes.ADMIN}!user=uma", set()),
        (f"{scopes.PUBLISH}!user=uma", set()),
        (f"{scopes.READ}!server=uma/", set()),  # filters that mean nothing here
        ("custom:models:read!user", set()),  # a filter without its value (the hub fills it in)
        ("access:services!service=models", set()),
        ("custom:other:thing", set()),
    ],
)
def test_a_scope_grants_what_its_filter_allows(scope: str, granted: set[str]) -> None:
    assert scopes.grants(scope, name=ME, groups=MY_GROUPS) == granted


def test_an_unfiltered_scope_beside_a_filtered_one_still_counts() -> None:
    held = {f"{scopes.ADMIN}!group=model-users", scopes.READ}
    assert scopes.expand(held, name=ME, groups=MY_GROUPS) == {scopes.READ}
