"""Opening the database: a SQLite file by default, PostgreSQL or MySQL/MariaDB from DATABASE_URL.

URLs are accepted as users paste them from their provider (`postgres://...?sslmode=require`,
`mysql://...`); the schema is brought up to date by Alembic on every start, so an upgrade never
loses data. Everything is async: nothing here blocks the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import os
import ssl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from core.errors import StoreError
from core.paths import resource_root

log = logging.getLogger(__name__)

MIGRATIONS_DIR = resource_root() / "core" / "store" / "migrations"
URL_HELP = "use postgresql://user:password@host:5432/dbname, mysql://user:password@host:3306/dbname, or leave DATABASE_URL empty for the local SQLite file"
_DRIVERS = {
    "postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg",
    "mysql": "mysql+aiomysql", "mariadb": "mysql+aiomysql", "mysql+aiomysql": "mysql+aiomysql",
    "sqlite": "sqlite+aiosqlite", "sqlite+aiosqlite": "sqlite+aiosqlite",
}
_SSL_REQUIRED = {"require", "required", "verify-ca", "verify_ca", "verify-full", "verify_identity"}


def database_url(raw: str | None, default_sqlite: Path) -> tuple[URL, dict]:
    """Turn DATABASE_URL (or nothing) into an async SQLAlchemy URL and driver connect arguments."""
    if not raw:
        return URL.create("sqlite+aiosqlite", database=str(default_sqlite)), {}
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise StoreError(f"DATABASE_URL is not a database URL: {URL_HELP}.") from exc
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise StoreError(f"DATABASE_URL uses {url.drivername!r}, which is not supported: {URL_HELP}.")
    url = url.set(drivername=driver)
    connect_args: dict = {}
    if driver.startswith("mysql"):
        # aiomysql takes no libpq-style sslmode: turn it into an SSL context.
        query = dict(url.query)
        mode = str(query.pop("sslmode", query.pop("ssl-mode", query.pop("ssl_mode", "")))).lower()
        if mode in _SSL_REQUIRED:
            connect_args["ssl"] = ssl.create_default_context()
        query.setdefault("charset", "utf8mb4")  # emoji in prompts
        url = url.set(query=query)
    if driver.startswith("sqlite") and not url.database:
        raise StoreError(f"DATABASE_URL names no SQLite file: {URL_HELP}.")
    if not driver.startswith("sqlite") and not url.host:
        raise StoreError(f"DATABASE_URL has no host name: {URL_HELP}.")
    return url, connect_args


def _describe(url: URL) -> str:
    if url.drivername.startswith("sqlite"):
        return f"SQLite file {url.database}"
    return f"{url.get_backend_name()} at {url.host}:{url.port or 'default port'}/{url.database or ''}"


class Database:
    """The app's database: engine, sessions and migrations."""

    def __init__(self, engine: AsyncEngine, description: str) -> None:
        self.engine = engine
        self.description = description          # safe to show: never holds the password
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @classmethod
    async def open(cls, raw_url: str | None, data_dir: Path, *, migrate: bool = True) -> "Database":
        """Open (creating the SQLite file if needed), check the connection and migrate to the latest schema."""
        url, connect_args = database_url(raw_url, data_dir / "imagebot.db")
        if url.drivername.startswith("sqlite"):
            _prepare_sqlite_folder(Path(url.database))
        engine = create_async_engine(url, connect_args=connect_args, pool_pre_ping=not url.drivername.startswith("sqlite"))
        if url.drivername.startswith("sqlite"):
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        db = cls(engine, _describe(url))
        try:
            async with asyncio.timeout(20):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            if migrate:
                await db.migrate()
        except (OperationalError, DBAPIError, OSError, TimeoutError) as exc:
            await engine.dispose()
            reason = str(getattr(exc, "orig", exc) or type(exc).__name__).splitlines()[0]
            raise StoreError(f"Cannot open the database ({db.description}): {reason}. Check DATABASE_URL and that the server is running.") from exc
        except BaseException:
            await engine.dispose()
            raise
        return db

    async def migrate(self, revision: str = "head") -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)

    async def revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    async def close(self) -> None:
        await self.engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn, revision: str) -> None:
    cfg = _alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


def _prepare_sqlite_folder(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the data folder {folder} ({exc.strerror}): make it writable or set DATABASE_URL.") from exc
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise StoreError(f"The data folder {folder} is read-only: make it writable, or set IMAGEBOT_HOME or DATABASE_URL to a writable place.")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
