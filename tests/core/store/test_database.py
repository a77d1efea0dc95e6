"""Storage on a real SQLite file, PostgreSQL and MariaDB: round trips, migrations that keep data,
URLs as users paste them, and clear errors for bad ones."""
import os
import re
import socket
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from core.errors import StoreError
from core.store import Database, ImageRow, JobRow, SettingRow, UserSessionRow, database_url, head_revision

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
PROMPT = 'a "quoted" cat\nsecond line 🐱 ' + "x" * 3980


def a_job(**overrides) -> JobRow:
    values = dict(state="queued", priority=100, user_id=2**62, user_name="alice", guild_id=1, channel_id=2,
                  source="discord", workflow="flux_schnell", prompt=PROMPT, params={"width": 1024, "roles": [1, 2]},
                  seed=str(2**64 - 1), created_at=NOW)
    values.update(overrides)
    return JobRow(**values)


async def test_round_trip_on_every_backend(database):
    async with database.sessions() as session:
        job = a_job()
        job.images.append(ImageRow(index=0, path="images/1_0.png", width=1024, height=1024, size_bytes=12345, created_at=NOW))
        session.add(job)
        session.add(UserSessionRow(user_id=2**62, guild_id=1, user_name="alice", channel_id=3, last_activity=NOW, delete_at=NOW))
        session.add(SettingRow(key="queue_paused", value={"paused": True}))
        await session.commit()
        job_id = job.id
    async with database.sessions() as session:
        stored = await session.get(JobRow, job_id)
        assert stored.prompt == PROMPT  # quotes, newline, emoji and 4000 characters, byte-exact
        assert stored.params == {"width": 1024, "roles": [1, 2]}
        assert int(stored.seed) == 2**64 - 1
        assert stored.user_id == 2**62
        assert stored.created_at.replace(tzinfo=timezone.utc) == NOW
        assert [image.path for image in stored.images] == ["images/1_0.png"]
        assert (await session.get(SettingRow, "queue_paused")).value == {"paused": True}
        sessions = (await session.execute(select(UserSessionRow))).scalars().all()
        assert sessions[0].warned is False


async def test_schema_is_at_the_latest_migration(database):
    assert await database.revision() == head_revision()


async def test_upgrade_keeps_existing_rows(any_database_url, tmp_path):
    old = await Database.open(any_database_url, tmp_path, migrate=False)
    await old.migrate("0001")
    async with old.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO jobs (state, priority, user_id, user_name, source, workflow, prompt, params, attempts, created_at) "
            "VALUES ('done', 100, 7, 'bob', 'discord', 'flux_schnell', 'kept prompt', '{}', 1, :now)"), {"now": NOW})
    await old.close()

    upgraded = await Database.open(any_database_url, tmp_path)
    assert await upgraded.revision() == head_revision()
    async with upgraded.sessions() as session:
        rows = (await session.execute(select(JobRow))).scalars().all()
        assert [(r.user_name, r.prompt, r.feedback_message_id) for r in rows] == [("bob", "kept prompt", None)]
    await upgraded.close()


async def test_default_is_a_sqlite_file_in_the_data_folder(tmp_path):
    db = await Database.open(None, tmp_path / "data")
    assert (tmp_path / "data" / "imagebot.db").exists()
    assert db.backend == "sqlite"
    await db.close()


@pytest.mark.parametrize("pasted, driver, query", [
    ("postgres://u:p@db.example.com:5432/bot?sslmode=require", "postgresql+psycopg", {"sslmode": "require"}),
    ("postgresql://u:p@db.example.com/bot?sslmode=verify-full", "postgresql+psycopg", {"sslmode": "verify-full"}),
    ("mysql://u:p@db.example.com:3306/bot", "mysql+aiomysql", {"charset": "utf8mb4"}),
    ("mariadb://u:p@db.example.com/bot?ssl-mode=REQUIRED", "mysql+aiomysql", {"charset": "utf8mb4"}),
])
def test_urls_work_as_pasted_from_providers(tmp_path, pasted, driver, query):
    url, connect_args = database_url(pasted, tmp_path / "x.db")
    assert url.drivername == driver
    assert dict(url.query) == query
    assert ("ssl" in connect_args) == ("ssl-mode" in pasted)


@pytest.mark.postgres
async def test_sslmode_reaches_the_postgres_driver(postgres_url, tmp_path):
    # The local server has no TLS: sslmode=require must fail with an SSL error, proving it is passed on.
    with pytest.raises(StoreError, match="(?i)ssl"):
        await Database.open(postgres_url.replace("sslmode=disable", "sslmode=require"), tmp_path)


@pytest.mark.parametrize("bad", ["not a url", "oracle://u:p@h/db", "postgresql:///nohost"])
def test_a_malformed_database_url_says_what_to_do(tmp_path, bad):
    with pytest.raises(StoreError, match="DATABASE_URL") as info:
        database_url(bad, tmp_path / "x.db")
    assert "leave DATABASE_URL empty" in str(info.value)


async def test_an_unreachable_database_is_one_clear_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as info:
        await Database.open(f"postgresql://bot:hunter2-secret@127.0.0.1:{port}/bot", tmp_path)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "Check DATABASE_URL" in message
    assert "hunter2-secret" not in message
    assert "\n" not in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root, and anyone on Windows (no folder permission bits), can write to read-only folders")
async def test_a_read_only_data_folder_is_reported(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(StoreError, match="read-only"):
        await Database.open(None, folder)


async def test_a_read_only_data_folder_is_reported_even_as_root(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(folder) else real_access(path, mode))
    with pytest.raises(StoreError, match=re.escape(f"{folder} is read-only")):
        await Database.open(None, folder)
