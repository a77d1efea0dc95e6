"""Storage: SQLAlchemy 2 async over SQLite (default), PostgreSQL or MySQL/MariaDB."""
from core.store.database import Database, database_url, head_revision
from core.store.models import Base, ImageRow, JobRow, SettingRow, UserSessionRow

__all__ = ["Database", "database_url", "head_revision", "Base", "ImageRow", "JobRow", "SettingRow", "UserSessionRow"]
