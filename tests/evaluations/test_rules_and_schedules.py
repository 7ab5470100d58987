"""Pure logic of the evaluations: rule verdicts and schedule slots, with plain inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlrun_kernel.evaluations import InvalidSetting
from mlrun_kernel.evaluations.rules import RuleSpec, check_rule_fields, judge
from mlrun_kernel.evaluations.schedule import due_slot, next_slot, parse_schedule

DECLARED = {"accuracy": {"goal": "maximize"}, "loss": {"goal": "minimize"}, "raw": {}}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_threshold_rule_breaks_below_the_limit_for_a_maximized_metric() -> None:
    rule = RuleSpec(metric="accuracy", kind="threshold", threshold=0.9)
    assert not judge(rule, "maximize", [0.95]).breaking
    verdict = judge(rule, "maximize", [0.95, 0.85])
    assert verdict.breaking and verdict.limit == 0.9 and verdict.value == 0.85
    assert "below the threshold 0.9" in verdict.message


def test_a_minimized_metric_breaks_above_the_threshold() -> None:
    rule = RuleSpec(metric="loss", kind="threshold", threshold=0.3)
    assert judge(rule, "minimize", [0.4]).breaking
    assert not judge(rule, "minimize", [0.2]).breaking


def test_a_drop_against_the_rolling_median_of_the_last_n() -> None:
    rule = RuleSpec(metric="accuracy", kind="drop", drop=0.1, baseline="median", window=3)
    verdict = judge(rule, "maximize", [0.5, 0.9, 0.92, 0.94, 0.80])
    assert verdict.breaking and verdict.baseline == 0.92
    assert verdict.limit == pytest.approx(0.828)
    assert not judge(rule, "maximize", [0.9, 0.92, 0.94, 0.85]).breaking
    assert not judge(rule, "maximize", [0.5]).breaking, "no baseline before the first evaluation"


def test_a_drop_against_a_pinned_evaluation() -> None:
    rule = RuleSpec(metric="accuracy", kind="drop", drop=0.2, baseline="pinned", pinned_value=1.0)
    assert judge(rule, "maximize", [0.9, 0.79]).breaking
    assert not judge(rule, "maximize", [0.81]).breaking


def test_min_consecutive_needs_that_many_breaks_in_a_row() -> None:
    rule = RuleSpec(metric="accuracy", kind="threshold", threshold=0.9, min_consecutive=3)
    assert not judge(rule, "maximize", [0.95, 0.8, 0.8]).breaking
    assert not judge(rule, "maximize", [0.8, 0.95, 0.8, 0.8]).breaking
    verdict = judge(rule, "maximize", [0.95, 0.8, 0.8, 0.8])
    assert verdict.breaking and verdict.consecutive == 3 and "3 evaluations in a row" in verdict.message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "f1", "kind": "threshold", "threshold": 1}, "metric 'f1' is not declared"),
        ({"metric": "raw", "kind": "threshold", "threshold": 1}, "has no goal"),
        ({"metric": "accuracy", "kind": "threshold", "threshold": "high"}, "threshold must be a number"),
        ({"metric": "accuracy", "kind": "threshold", "threshold": True}, "threshold must be a number"),
        ({"metric": "accuracy", "kind": "threshold", "threshold": "nan"}, "finite number"),
        ({"metric": "accuracy", "kind": "drop", "drop": 2, "baseline": "median"}, "between 0 and 1"),
        ({"metric": "accuracy", "kind": "drop", "drop": 0.1, "baseline": "mean"}, "'pinned' or 'median'"),
        ({"metric": "accuracy", "kind": "median"}, "rule kind 'median'"),
        (
            {"metric": "accuracy", "kind": "threshold", "threshold": 1, "min_consecutive": 0},
            "min_consecutive",
        ),
    ],
)
def test_bad_rules_say_what_is_wrong(fields: dict, message: str) -> None:
    with pytest.raises(InvalidSetting, match=message):
        check_rule_fields(declared=DECLARED, **fields)


def test_schedules_parse_aliases_and_cron_and_refuse_nonsense() -> None:
    assert parse_schedule("daily") == "daily"
    assert parse_schedule(" 30  2 * * * ") == "30 2 * * *"
    assert parse_schedule("") is None
    for bad in ("every day", "61 * * * *", "* * *", "0 0 * * * *"):
        with pytest.raises(InvalidSetting, match="cron expression"):
            parse_schedule(bad)


def test_a_cron_slot_is_due_once_at_its_time_and_not_before() -> None:
    since = at("2026-03-01T00:00:00")
    cron = "30 2 * * *"
    assert due_slot(cron, now=at("2026-03-01T02:29:59"), since=since, last=None) is None
    slot = due_slot(cron, now=at("2026-03-01T02:30:00"), since=since, last=None)
    assert slot == at("2026-03-01T02:30:00")
    assert due_slot(cron, now=at("2026-03-01T09:00:00"), since=since, last=slot) is None
    assert next_slot(cron, at("2026-03-01T02:30:00")) == at("2026-03-02T02:30:00")


def test_slots_missed_while_down_collapse_into_the_newest_one() -> None:
    since = at("2026-03-01T00:00:00")
    last = at("2026-03-01T00:00:00")
    now = at("2026-03-05T07:00:00")  # four daily slots missed
    assert due_slot("daily", now=now, since=since, last=last) == at("2026-03-05T00:00:00")


def test_a_new_schedule_does_not_catch_up_on_slots_before_it_was_set() -> None:
    since = at("2026-03-01T10:00:00")
    assert due_slot("daily", now=since + timedelta(hours=1), since=since, last=None) is None
    assert due_slot("daily", now=at("2026-03-02T00:00:01"), since=since, last=None) == at(
        "2026-03-02T00:00:00"
    )
