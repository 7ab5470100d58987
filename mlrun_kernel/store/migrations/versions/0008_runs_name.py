"""The optional run name a person gives a run (issue 10).

``runs.name`` is NULL for a run nobody named (every run recorded before this
revision). The library stores names already cleaned (``mlrun_kernel.runs.record.clean_run_name``:
stripped, at most 200 characters, no control characters, empty -> NULL).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("name")
