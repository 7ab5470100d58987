"""Model builds and contract-test results, recorded against the image digest (issue 11).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "model_builds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("image", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("image_id", sa.String(length=100), nullable=True),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("revision", sa.String(length=100), nullable=True),
        sa.Column("context_bytes", sa.Integer(), nullable=True),
        sa.Column("options", JSON, nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_builds_owner_created", "model_builds", ["owner", "created_at"])
    op.create_index("ix_model_builds_state_created", "model_builds", ["state", "created_at"])
    op.create_table(
        "image_tests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("image_id", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=600), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("tested_by", sa.String(length=255), nullable=False),
        sa.Column("tested_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_image_tests_image_id", "image_tests", ["image_id"])
    op.create_table(
        "image_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("image", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("image_id", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=False),
        sa.Column("moved_latest", sa.Boolean(), nullable=False),
        sa.Column("forced", JSON, nullable=False),
        sa.Column("pushed_by", sa.String(length=255), nullable=False),
        sa.Column("pushed_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_image_pushes_image_version", "image_pushes", ["image", "version"])


def downgrade() -> None:
    op.drop_index("ix_image_pushes_image_version", table_name="image_pushes")
    op.drop_table("image_pushes")
    op.drop_index("ix_image_tests_image_id", table_name="image_tests")
    op.drop_table("image_tests")
    op.drop_index("ix_model_builds_state_created", table_name="model_builds")
    op.drop_index("ix_model_builds_owner_created", table_name="model_builds")
    op.drop_table("model_builds")
