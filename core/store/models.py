"""The database tables. Images are files in the data folder; the database only says where.

Changing a table means adding an Alembic migration in `migrations/versions/` as well.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_name: Mapped[str] = mapped_column(String(100))
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    workflow: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON)          # negative prompt, size, seed, batch, locale, roles...
    input_image: Mapped[str | None] = mapped_column(String(500))  # path under the data folder
    seed: Mapped[int | None] = mapped_column(String(32))           # up to 2**64: kept as text for every backend
    backend: Mapped[str | None] = mapped_column(String(500))
    prompt_id: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_text: Mapped[str | None] = mapped_column(Text)
    feedback_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the bot's live status message
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)  # the outbox
    request_key: Mapped[str | None] = mapped_column(String(32), index=True)   # finds an insert whose answer was lost

    images: Mapped[list["ImageRow"]] = relationship(back_populates="job", order_by="ImageRow.index", lazy="selectin")

    __table_args__ = (Index("ix_jobs_state_priority_id", "state", "priority", "id"),)


class ImageRow(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))      # relative to the data folder
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    job: Mapped[JobRow] = relationship(back_populates="images")


class UserSessionRow(Base):
    __tablename__ = "user_sessions"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_name: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    last_activity: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delete_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    warning_message_id: Mapped[int | None] = mapped_column(BigInteger)


class SettingRow(Base):
    """Settings an admin changes at run time (queue paused, workflow toggles...)."""
    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
