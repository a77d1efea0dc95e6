"""A password written into a ComfyUI URL was stored with every job (jobs.backend): keep the address only.

Revision ID: 0004
Revises: 0003
"""
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _address(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def upgrade() -> None:
    jobs = sa.table("jobs", sa.column("backend", sa.String))
    bind = op.get_bind()
    with_login = bind.execute(sa.select(jobs.c.backend).where(jobs.c.backend.like("%@%")).distinct()).scalars().all()
    for backend in with_login:
        bind.execute(jobs.update().where(jobs.c.backend == backend).values(backend=_address(backend)))


def downgrade() -> None:
    pass  # the passwords are gone for good, as they should be
