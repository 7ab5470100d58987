"""The gallery's deterioration badge: a flagged image's card says which rule broke, in numbers."""

from __future__ import annotations

from typing import Any

from mlrun_kernel.widgets.gallery import attach_flags, group_by_image, model_card


def _texts(widget: Any) -> list[str]:
    found: list[str] = []
    for attr in ("text", "title"):
        value = getattr(widget, attr, None)
        if isinstance(value, str) and value:
            found.append(value)
    for child in getattr(widget, "children", None) or []:
        found.extend([child] if isinstance(child, str) else _texts(child))
    return found


MODELS = [
    {"repository": "iris", "tag": "1.0.0", "digest": "sha256:aaa", "version": "1.0.0", "tasks": []},
    {"repository": "iris", "tag": "latest", "digest": "sha256:aaa", "version": "1.0.0", "tasks": []},
    {"repository": "iris", "tag": "1.1.0", "digest": "sha256:bbb", "version": "1.1.0", "tasks": []},
]
FLAG = {
    "model": "iris",
    "digest": "sha256:aaa",
    "metric": "accuracy",
    "value": 0.61,
    "limit": 0.8,
    "message": "accuracy 0.61 is under the threshold 0.8",
}


def test_only_the_flagged_image_gets_the_badge_with_the_rule_and_numbers():
    cards = group_by_image(attach_flags(MODELS, [FLAG]))
    flagged = next(m for m in cards if m["digest"] == "sha256:aaa")
    clean = next(m for m in cards if m["digest"] == "sha256:bbb")
    assert flagged["flags"] == [FLAG] and clean["flags"] == []
    shown = " ".join(_texts(model_card(flagged)))
    assert "Deteriorating" in shown and "accuracy 0.61 is under the threshold 0.8" in shown
    assert "Deteriorating" not in " ".join(_texts(model_card(clean)))


def test_a_flag_of_another_repository_with_the_same_digest_does_not_leak():
    other = {**FLAG, "model": "sales-forecaster"}
    assert all(m["flags"] == [] for m in attach_flags(MODELS, [other]))
