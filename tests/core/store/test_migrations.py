"""Data migrations on every backend: what an older version stored is put right on upgrade."""
from datetime import datetime, timezone

from sqlalchemy import select, text

from core.store import Database, JobRow, head_revision

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


async def test_a_comfyui_password_stored_with_old_jobs_is_removed_on_upgrade(any_database_url, tmp_path):
    old = await Database.open(any_database_url, tmp_path, migrate=False)
    await old.migrate("0003")
    async with old.engine.begin() as conn:
        for backend in ("http://bot:hunter2@gpu:8188", "https://me:p%40ss@example.com/comfy", "http://127.0.0.1:8188",
                        None):
            await conn.execute(text(
                "INSERT INTO jobs (state, priority, user_id, user_name, source, workflow, prompt, params, attempts, "
                "created_at, backend) VALUES ('done', 100, 7, 'bob', 'discord', 'flux_schnell', 'p', '{}', 1, :now, "
                ":backend)"), {"now": NOW, "backend": backend})
    await old.close()

    upgraded = await Database.open(any_database_url, tmp_path)
    try:
        assert await upgraded.revision() == head_revision()
        async with upgraded.sessions() as session:
            backends = (await session.scalars(select(JobRow.backend).order_by(JobRow.id))).all()
    finally:
        await upgraded.close()
    assert backends == ["http://gpu:8188", "https://example.com/comfy", "http://127.0.0.1:8188", None]
