"""Runs: runs, their state history, their log lines, live executors.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("model_ref", sa.String(length=255), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("digest", sa.String(length=100), nullable=False),
        sa.Column("image", sa.String(length=600), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("command", JSON, nullable=True),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("resources", JSON, nullable=False),
        sa.Column("reuse_key", sa.String(length=64), nullable=False),
        sa.Column("reused_from", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("state_changed_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", TIMESTAMP, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=True),
        sa.Column("executor", sa.String(length=255), nullable=True),
        sa.Column("container", sa.String(length=128), nullable=True),
        sa.Column("engine_started_at", TIMESTAMP, nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("progress_message", sa.Text(), nullable=True),
        sa.Column("pull_progress", JSON, nullable=True),
        sa.Column("storage", sa.String(length=1024), nullable=False),
        sa.Column("outputs", JSON, nullable=True),
        sa.Column("outputs_bytes", sa.BigInteger(), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("failure_text", sa.Text(), nullable=True),
        sa.Column("warnings", JSON, nullable=False),
        sa.Column("log_lines", sa.Integer(), nullable=False),
        sa.Column("log_bytes", sa.BigInteger(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_state_created", "runs", ["state", "created_at"])
    op.create_index("ix_runs_owner_created", "runs", ["owner", "created_at"])
    op.create_index("ix_runs_reuse_key", "runs", ["reuse_key"])
    op.create_table(
        "run_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_events_run_id", "run_events", ["run_id"])
    op.create_table(
        "run_log_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_log_lines_run_seq", "run_log_lines", ["run_id", "seq"], unique=True)
    op.create_table(
        "run_executors",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("run_executors")
    op.drop_index("ix_run_log_lines_run_seq", table_name="run_log_lines")
    op.drop_table("run_log_lines")
    op.drop_index("ix_run_events_run_id", table_name="run_events")
    op.drop_table("run_events")
    op.drop_index("ix_runs_reuse_key", table_name="runs")
    op.drop_index("ix_runs_owner_created", table_name="runs")
    op.drop_index("ix_runs_state_created", table_name="runs")
    op.drop_table("runs")
