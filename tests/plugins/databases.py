"""Real database servers for tests: a fresh, uniquely named database per test, dropped afterwards.

PostgreSQL listens on 127.0.0.1:5432 (trust auth) and MariaDB on 127.0.0.1:3306 (root, no
password); `.ci/run` starts them. Locally a missing server skips; in CI it fails.
"""
from __future__ import annotations

import uuid

import pytest

from tests.plugins import unavailable

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIADB_HOST = dict(host="127.0.0.1", port=3306, user="root", password="")


def _fresh_pg() -> tuple[str, callable]:
    import psycopg

    name = f"imagebot_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")

    def drop():
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}?sslmode=disable", drop


def _fresh_mariadb() -> tuple[str, callable]:
    import pymysql

    name = f"imagebot_{uuid.uuid4().hex[:12]}"
    try:
        conn = pymysql.connect(**MARIADB_HOST, connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        unavailable(f"MariaDB is not reachable on 127.0.0.1:3306: {exc}")
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def drop():
        with pymysql.connect(**MARIADB_HOST, connect_timeout=3) as c, c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    return f"mysql://root@127.0.0.1:3306/{name}", drop


@pytest.fixture
def postgres_url():
    url, drop = _fresh_pg()
    yield url
    drop()


@pytest.fixture
def mariadb_url():
    url, drop = _fresh_mariadb()
    yield url
    drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mariadb", marks=pytest.mark.mariadb)])
def any_database_url(request, tmp_path):
    """Each real backend in turn: a SQLite file, PostgreSQL, MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url, drop = _fresh_pg() if request.param == "postgres" else _fresh_mariadb()
    yield url
    drop()


@pytest.fixture
async def database(any_database_url, tmp_path):
    """An opened, migrated Database on each backend."""
    from core.store import Database

    db = await Database.open(any_database_url, tmp_path)
    yield db
    await db.close()
