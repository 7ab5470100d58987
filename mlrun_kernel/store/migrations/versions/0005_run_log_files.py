"""Run logs in append-only files: the run row names its log file.

A run's lines go to ``<run storage>/log`` (see ``mlrun_kernel.runs.logfile``);
the row keeps the file's path and the counts. Runs recorded before this
revision keep their lines in ``run_log_lines`` (``log_path`` stays NULL), and
are read from there.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("log_path", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("log_path")
