"""The outbox: when a job's result or failure reached its user (None: not delivered yet).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_jobs_delivered_at", ["delivered_at"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_delivered_at")
        batch.drop_column("delivered_at")
