"""Options of the evaluations area, declared once (``MLK_EVAL_*``, ``MLK_SMTP_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from mlrun_kernel.config import MlkSettings


class EvaluationSettings(MlkSettings):
    """Schedules, deterioration alerts and the notifications of fine-tune requests."""

    section: ClassVar[str] = "Evaluations"

    eval_tick_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the model service looks for due evaluation slots, finished "
        "evaluations, and new versions that resolve a fine-tune request.",
    )
    eval_experts_group: str = Field(
        default="model-experts",
        description="The hub group that answers a model's fine-tune requests (and sees the "
        "datasets attached to them) unless the model's evaluation setup names another.",
    )
    eval_cooldown_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="Default cooldown of a deterioration rule: after a flag is raised, breaks of "
        "the same rule within this time raise no new flag or alert.",
    )
    eval_webhook_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts per webhook delivery before it is given up."
    )
    eval_webhook_backoff_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Wait before the second webhook attempt; each later wait doubles.",
    )
    eval_webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one webhook POST may take."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for fine-tune request e-mails; unset: no e-mail."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS before logging in."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle that signs the SMTP server's certificate (for STARTTLS); "
        "unset: the system's trusted CAs.",
    )
    smtp_user: str | None = Field(default=None, description="SMTP login; unset: no login.")
    smtp_password: str | None = Field(default=None, repr=False, description="SMTP password.")
    smtp_from: str = Field(default="mlrun-kernel@localhost", description="Sender address of request e-mails.")
    eval_mail_to: str | None = Field(
        default=None,
        description="Comma-separated addresses that receive every fine-tune request e-mail "
        "(the experts' list, for instance).",
    )

    @property
    def mail_recipients(self) -> list[str]:
        return [a.strip() for a in (self.eval_mail_to or "").split(",") if a.strip()]


@lru_cache(maxsize=1)
def evaluation_settings() -> EvaluationSettings:
    """The process-wide evaluation options, read once from the environment."""
    return EvaluationSettings.from_env()
