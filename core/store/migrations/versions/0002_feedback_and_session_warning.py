"""Remember the bot's live status message per job, and the idle warning per session.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("feedback_message_id", sa.BigInteger))
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("warned", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("warning_message_id", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("warning_message_id")
        batch.drop_column("warned")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("feedback_message_id")
