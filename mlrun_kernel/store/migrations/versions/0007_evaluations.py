"""Metrics history, evaluations, deterioration rules and fine-tune requests (issue 13).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evaluation_rules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("drop", sa.Float(), nullable=True),
        sa.Column("baseline", sa.String(length=16), nullable=True),
        sa.Column("baseline_evaluation_id", ID, nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("min_consecutive", sa.Integer(), nullable=False),
        sa.Column("cooldown_seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluation_rules_model", "evaluation_rules", ["model"], unique=False)
    op.create_table(
        "evaluation_setups",
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("dataset", sa.String(length=600), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.Column("input_name", sa.String(length=128), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("schedule", sa.String(length=200), nullable=True),
        sa.Column("experts_group", sa.String(length=255), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("schedule_since", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("model"),
    )
    op.create_table(
        "evaluation_webhooks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("model_ref", sa.String(length=400), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("slot", TIMESTAMP, nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("dataset", sa.String(length=650), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model", "slot"),
    )
    op.create_index("ix_evaluations_model_created", "evaluations", ["model", "created_at"], unique=False)
    op.create_index("ix_evaluations_state", "evaluations", ["state"], unique=False)
    op.create_table(
        "finetune_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("datasets", JSON, nullable=False),
        sa.Column("experts_group", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("resolved_digest", sa.String(length=100), nullable=True),
        sa.Column("resolved_version", sa.String(length=100), nullable=True),
        sa.Column("resolution_evaluation_id", ID, nullable=True),
        sa.Column("comparison", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_finetune_requests_model_state", "finetune_requests", ["model", "state"], unique=False)
    op.create_table(
        "metric_ingested",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "metric_points",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("datasets", JSON, nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("evaluation_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "name"),
    )
    op.create_index("ix_metric_points_model_at", "metric_points", ["model", "at"], unique=False)
    op.create_index("ix_metric_points_model_name_at", "metric_points", ["model", "name", "at"], unique=False)
    op.create_table(
        "model_flags",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("rule", JSON, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("evaluation_ids", JSON, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("cleared_at", TIMESTAMP, nullable=True),
        sa.Column("cleared_by_evaluation", ID, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_flags_model_open", "model_flags", ["model", "cleared_at"], unique=False)
    op.create_index("ix_model_flags_rule", "model_flags", ["rule_id", "raised_at"], unique=False)
    op.create_table(
        "notification_deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notification_deliveries_request", "notification_deliveries", ["request_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_request", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index("ix_model_flags_rule", table_name="model_flags")
    op.drop_index("ix_model_flags_model_open", table_name="model_flags")
    op.drop_table("model_flags")
    op.drop_index("ix_metric_points_model_name_at", table_name="metric_points")
    op.drop_index("ix_metric_points_model_at", table_name="metric_points")
    op.drop_table("metric_points")
    op.drop_table("metric_ingested")
    op.drop_index("ix_finetune_requests_model_state", table_name="finetune_requests")
    op.drop_table("finetune_requests")
    op.drop_index("ix_evaluations_state", table_name="evaluations")
    op.drop_index("ix_evaluations_model_created", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_table("evaluation_webhooks")
    op.drop_table("evaluation_setups")
    op.drop_index("ix_evaluation_rules_model", table_name="evaluation_rules")
    op.drop_table("evaluation_rules")
