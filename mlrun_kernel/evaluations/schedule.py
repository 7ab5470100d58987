"""Evaluation schedules: ``daily``, ``weekly`` or a cron expression, read with croniter.

Pure functions of a schedule and a clock, so tests move time by hand:

- :func:`parse_schedule` checks what an admin typed and says what is wrong;
- :func:`due_slot` answers the one slot to run now, if any. When the service was down
  over several slots, only the newest missed one is due: a restart runs it once, not once
  per missed slot. Claiming the slot in the store (``evaluations`` is unique per model and
  slot) is what keeps two service processes from both running it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter

from mlrun_kernel.evaluations.errors import InvalidSetting

ALIASES = {"daily": "0 0 * * *", "weekly": "0 0 * * 1", "hourly": "0 * * * *"}


def parse_schedule(text: str | None) -> str | None:
    """The schedule as stored (None: on demand only); InvalidSetting if it does not parse."""
    if text is None or not str(text).strip():
        return None
    value = " ".join(str(text).split())
    if value.lower() in ALIASES:
        return value.lower()
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise InvalidSetting(
            f"schedule {text!r} is not 'daily', 'weekly', 'hourly' or a cron expression of five "
            "fields (minute hour day-of-month month day-of-week), e.g. '30 2 * * *' for 02:30 UTC daily"
        )
    return value


def cron_of(schedule: str) -> str:
    return ALIASES.get(schedule, schedule)


def latest_slot(schedule: str, now: datetime) -> datetime:
    """The newest slot at or before ``now`` (UTC)."""
    moment = now.astimezone(UTC)
    itr = croniter(cron_of(schedule), moment + timedelta(seconds=1))
    return itr.get_prev(datetime).astimezone(UTC)


def next_slot(schedule: str, now: datetime) -> datetime:
    """The first slot after ``now`` (UTC)."""
    return croniter(cron_of(schedule), now.astimezone(UTC)).get_next(datetime).astimezone(UTC)


def due_slot(
    schedule: str | None, *, now: datetime, since: datetime, last: datetime | None
) -> datetime | None:
    """The slot to run at ``now``: the newest one not later than ``now``, not before ``since``
    (when the schedule was set), and later than ``last`` (the newest slot already claimed)."""
    if schedule is None:
        return None
    slot = latest_slot(schedule, now)
    if slot < since.astimezone(UTC):
        return None
    if last is not None and slot <= last.astimezone(UTC):
        return None
    return slot
