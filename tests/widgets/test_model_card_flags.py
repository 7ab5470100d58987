"""The ModelCard carries the gallery's deterioration badge for a flagged version: the rule's
verdict in numbers and when it was raised, for everyone who may read flags (users too).

The flag is raised by the real rule logic (``evaluations.flags.apply_rules``) over the real
service's store: a threshold rule on the showcase model's ``score`` and an evaluation that
scored under it. The showcase has no ``evaluate`` task to run, so the evaluation is written
as the evaluation loop leaves one; the card reads the flag through the service's API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, update

from mlrun_kernel.client import Client
from mlrun_kernel.evaluations.flags import apply_rules
from mlrun_kernel.store.models import Evaluation, EvaluationRule, ModelFlag
from mlrun_kernel.widgets.gallery import flag_badge
from mlrun_kernel.widgets.model_card import ModelCard, flag_facts
from tests.widgets.test_gallery_flags import _texts

pytestmark = [pytest.mark.hub, pytest.mark.registry, pytest.mark.docker]


@pytest.fixture
def flagged_showcase(widget_service: Any, uma: Client, showcase_name: str) -> Iterator[dict[str, Any]]:
    """The showcase's latest version flagged: score 0.9 under a threshold of 0.95."""
    detail = uma.get_model(showcase_name)
    digest = str(detail["digest"])
    store = widget_service.platform.store
    now = datetime.now(UTC)
    with store.session() as s:
        rule = EvaluationRule(
            model=showcase_name,
            metric="score",
            kind="threshold",
            threshold=0.95,
            min_consecutive=1,
            cooldown_seconds=0.0,
            created_by="ada",
            created_at=now,
        )
        evaluation = Evaluation(
            model=showcase_name,
            model_ref=f"{showcase_name}@{digest}",
            digest=digest,
            model_version=detail.get("version"),
            trigger="manual",
            dataset="ada/reference:1",
            state="succeeded",
            metrics={"score": 0.9},
            created_by="ada",
            created_at=now,
            finished_at=now,
        )
        s.add_all([rule, evaluation])
        s.flush()
        raised, _ = apply_rules(s, evaluation, {"score": "maximize"}, now)
        rule_id = rule.id
    assert len(raised) == 1
    try:
        yield {"digest": digest, "version": detail.get("version"), "flag": raised[0]}
    finally:
        with store.session() as s:
            s.execute(update(ModelFlag).where(ModelFlag.rule_id == rule_id).values(cleared_at=now))
            s.execute(delete(EvaluationRule).where(EvaluationRule.id == rule_id))


def test_a_flagged_version_shows_the_badge_with_the_rule_numbers_and_when(
    client_for: Any, showcase_name: str, flagged_showcase: dict[str, Any]
) -> None:
    flag = flagged_showcase["flag"]
    for role in ("user", "admin"):  # flags are for everyone who can read models
        card = ModelCard(showcase_name, client=client_for(role))
        assert card.notice.explained is None
        [shown] = card.facts["flags"]
        assert (shown["metric"], shown["value"], shown["limit"], shown["kind"]) == (
            "score",
            0.9,
            0.95,
            "threshold",
        )
        badge = card.body.children[2]
        assert "mlk-flag-badge" in badge.class_ and badge.title == "Deteriorating"
        text = " ".join(_texts(badge))
        assert "score=0.9 is below the threshold 0.95" in text
        assert str(flagged_showcase["version"]) in text
        assert f"flagged {flag.raised_at.isoformat()[:16].replace('T', ' ')} UTC" in text
        versions = " ".join(_texts(card.body))
        assert "flagged (see above)" in versions


def test_an_unflagged_model_has_no_badge(uma: Client, showcase_name: str) -> None:
    card = ModelCard(showcase_name, client=uma)
    assert card.facts["flags"] == []
    assert not any("Deteriorating" in t for t in _texts(card.body))


def test_cleared_flags_are_not_shown_and_the_badge_is_the_gallerys() -> None:
    open_flag = {
        "digest": "sha256:aaa",
        "version": None,
        "metric": "mape",
        "value": 9.0,
        "limit": 6.0,
        "baseline": 5.0,
        "rule": {"kind": "drop"},
        "message": "mape=9 is above 6, more than 20 % worse than the median of the last 5 (5)",
        "raised_at": "2026-11-30T08:15:00+00:00",
        "cleared_at": None,
    }
    cleared = {**open_flag, "cleared_at": "2026-12-01T08:15:00+00:00"}
    [fact] = flag_facts([open_flag, cleared], [{"digest": "sha256:aaa", "version": "2.1.0"}])
    assert fact["version"] == "2.1.0" and fact["baseline"] == 5.0
    assert fact["message"] == f"2.1.0: {open_flag['message']} (flagged 2026-11-30 08:15 UTC)"
    assert _texts(flag_badge([fact])) == [fact["message"], "Deteriorating"]
