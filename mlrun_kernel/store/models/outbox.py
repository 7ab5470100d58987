"""The notification outbox (migration 0009): what is still to be announced, and to whom.

One row per (event, receiver): a webhook or the mailbox. It is written in the same
transaction as the event it announces (a request opened, a flag raised), so an event
committed is an event that will be sent, even if the process dies before it sends it.
A sender claims a row with a lease (``claimed_by``/``claimed_until``, set by one
``UPDATE ... WHERE`` that only one process can win), makes one attempt, and either marks
it ``done`` or releases it with the time of its next attempt; a lease that runs out (its
holder died mid-attempt) makes the row claimable again. Every attempt is also a row of
``notification_deliveries``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mlrun_kernel.store.models.base import Base
from mlrun_kernel.store.types import IdType, JSONType, utcnow


class NotificationOutbox(Base):
    """One event still to be delivered (or delivered, or given up on) to one receiver."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target"),
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32))
    """The event's id, sent as ``X-MLK-Delivery``; the same for every receiver of the event."""
    event: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    """``webhook`` or ``email``."""
    target: Mapped[str] = mapped_column(String(2000))
    """The webhook's URL, or ``mail``: the configured mailbox at the time of sending."""
    webhook_id: Mapped[int | None] = mapped_column(IdType, default=None)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` -> ``done``, or ``failed`` once the attempts are spent or the answer is final."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
