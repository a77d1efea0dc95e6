"""Private session channel deadlines, kept in the `user_sessions` table.

A session is one user's private channel in one guild. Every use moves its deadline to
`now + session_idle_minutes`; `session_warning_minutes` before the deadline the bot posts a warning
with a Keep button, and at the deadline it deletes the channel. The deadlines live in the database,
so they survive a restart, and the tray's Sessions window reads the same rows.

No Discord and no Qt here: the bot's reaper and the GUI both call this service, and every change is
published as a `SessionChanged` event on the bus.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.errors import StoreError
from core.events import EventBus
from core.settings import Settings
from core.store import Database, UserSessionRow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc(value: datetime) -> datetime:
    """Aware UTC, whatever the backend handed back (SQLite and MySQL drop the zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class SessionInfo:
    user_id: int
    guild_id: int
    user_name: str
    channel_id: int | None
    last_activity: datetime
    delete_at: datetime
    warned: bool
    warning_message_id: int | None
    warn_at: datetime

    def remaining(self, now: datetime) -> timedelta:
        return max(self.delete_at - now, timedelta(0))


@dataclass(frozen=True)
class SessionChanged:
    """A session row changed. `action`: touched, kept, channel, warned, expired or closed."""
    user_id: int
    guild_id: int
    action: str
    session: SessionInfo | None       # None once closed


class SessionService:
    def __init__(self, *, db: Database, bus: EventBus, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock or (lambda: datetime.now(UTC))
        self.use_settings(settings)

    def now(self) -> datetime:
        return _utc(self._clock())

    def _info(self, row: UserSessionRow) -> SessionInfo:
        delete_at = _utc(row.delete_at)
        return SessionInfo(
            user_id=int(row.user_id), guild_id=int(row.guild_id), user_name=row.user_name,
            channel_id=int(row.channel_id) if row.channel_id is not None else None,
            last_activity=_utc(row.last_activity), delete_at=delete_at, warned=bool(row.warned),
            warning_message_id=int(row.warning_message_id) if row.warning_message_id is not None else None,
            warn_at=delete_at - self.warning,
        )

    def _restart_idle(self, row: UserSessionRow, now: datetime) -> None:
        """Activity at `now`: a fresh idle period, and any pending warning is void."""
        row.last_activity = now
        row.delete_at = now + self.idle
        row.warned = False
        row.warning_message_id = None

    def _publish(self, user_id: int, guild_id: int, action: str, info: SessionInfo | None) -> None:
        self._bus.publish(SessionChanged(user_id, guild_id, action, info))

    def use_settings(self, settings: Settings) -> None:
        """New idle and warning minutes (saved while running): they count from each session's next
        activity (deadlines already set stay)."""
        self.idle = timedelta(minutes=max(1, settings.session_idle_minutes))
        # The warning window never reaches back before the session started; 0 minutes means no warning.
        self.warning = min(timedelta(minutes=max(0, settings.session_warning_minutes)), self.idle)

    async def _update(self, user_id: int, guild_id: int, action: str, change: Callable[[UserSessionRow], None]) -> SessionInfo | None:
        try:
            async with self._db.sessions() as session, session.begin():
                row = await session.get(UserSessionRow, (user_id, guild_id))
                if row is None:
                    return None
                change(row)
                info = self._info(row)
        except SQLAlchemyError as exc:
            raise StoreError(f"Cannot update the session of user {user_id}: {exc.__class__.__name__}. Check the database.") from exc
        self._publish(user_id, guild_id, action, info)
        return info

    # ---------------------------------------------------------------- changes

    async def touch(self, user_id: int, guild_id: int, user_name: str, *, channel_id: int | None = None,
                    now: datetime | None = None) -> SessionInfo:
        """Record activity: create the session if needed and move its deadline to now + idle time.

        Clears a pending warning. `channel_id`, when given, replaces the stored channel.
        """
        now = _utc(now or self.now())
        for attempt in (1, 2):
            try:
                async with self._db.sessions() as session, session.begin():
                    row = await session.get(UserSessionRow, (user_id, guild_id))
                    if row is None:
                        row = UserSessionRow(user_id=user_id, guild_id=guild_id)
                        session.add(row)
                    row.user_name = user_name[:100]
                    if channel_id is not None:
                        row.channel_id = channel_id
                    self._restart_idle(row, now)
                    info = self._info(row)
                break
            except IntegrityError:
                if attempt == 2:  # a concurrent first touch inserted it: the second try updates
                    raise
            except SQLAlchemyError as exc:
                raise StoreError(f"Cannot record the session of user {user_id}: {exc.__class__.__name__}. Check the database.") from exc
        self._publish(user_id, guild_id, "touched", info)
        return info

    async def keep(self, user_id: int, guild_id: int, *, now: datetime | None = None) -> SessionInfo | None:
        """The Keep button (or the GUI): a fresh idle period. None when there is no session."""
        now = _utc(now or self.now())
        return await self._update(user_id, guild_id, "kept", lambda row: self._restart_idle(row, now))

    async def set_channel(self, user_id: int, guild_id: int, channel_id: int | None) -> SessionInfo | None:
        def change(row: UserSessionRow) -> None:
            row.channel_id = channel_id

        return await self._update(user_id, guild_id, "channel", change)

    async def mark_warned(self, user_id: int, guild_id: int, message_id: int | None) -> SessionInfo | None:
        def change(row: UserSessionRow) -> None:
            row.warned = True
            row.warning_message_id = message_id

        return await self._update(user_id, guild_id, "warned", change)

    async def expire(self, user_id: int, guild_id: int, *, now: datetime | None = None) -> SessionInfo | None:
        """Make the session due for deletion now (the GUI's "close now"); the bot's reaper deletes the channel."""
        now = _utc(now or self.now())

        def change(row: UserSessionRow) -> None:
            row.delete_at = now
            row.warned = True

        return await self._update(user_id, guild_id, "expired", change)

    async def close(self, user_id: int, guild_id: int) -> SessionInfo | None:
        """Forget the session (its channel is gone). Returns what was stored, or None."""
        try:
            async with self._db.sessions() as session, session.begin():
                row = await session.get(UserSessionRow, (user_id, guild_id))
                if row is None:
                    return None
                info = self._info(row)
                await session.execute(delete(UserSessionRow).where(
                    UserSessionRow.user_id == user_id, UserSessionRow.guild_id == guild_id))
        except SQLAlchemyError as exc:
            raise StoreError(f"Cannot close the session of user {user_id}: {exc.__class__.__name__}. Check the database.") from exc
        self._publish(user_id, guild_id, "closed", None)
        return info

    # ---------------------------------------------------------------- queries

    async def _select(self, *conditions) -> list[SessionInfo]:
        try:
            async with self._db.sessions() as session:
                stmt = select(UserSessionRow).where(*conditions).order_by(UserSessionRow.delete_at)
                rows = (await session.execute(stmt)).scalars().all()
                return [self._info(row) for row in rows]
        except SQLAlchemyError as exc:
            raise StoreError(f"Cannot read the sessions: {exc.__class__.__name__}. Check the database.") from exc

    async def get(self, user_id: int, guild_id: int) -> SessionInfo | None:
        found = await self._select(UserSessionRow.user_id == user_id, UserSessionRow.guild_id == guild_id)
        return found[0] if found else None

    async def get_by_channel(self, channel_id: int) -> SessionInfo | None:
        found = await self._select(UserSessionRow.channel_id == channel_id)
        return found[0] if found else None

    async def list(self, guild_id: int | None = None) -> list[SessionInfo]:
        """Every session (of one guild), the soonest deadline first."""
        conditions = [] if guild_id is None else [UserSessionRow.guild_id == guild_id]
        return await self._select(*conditions)

    async def due_warnings(self, *, now: datetime | None = None) -> list[SessionInfo]:
        """Sessions inside their warning window that were not warned yet."""
        now = _utc(now or self.now())
        return await self._select(
            UserSessionRow.warned == False,  # noqa: E712 (SQL, not Python)
            UserSessionRow.delete_at <= now + self.warning,
            UserSessionRow.delete_at > now,
        )

    async def due_deletions(self, *, now: datetime | None = None) -> list[SessionInfo]:
        now = _utc(now or self.now())
        return await self._select(UserSessionRow.delete_at <= now)

    async def next_deadline(self) -> datetime | None:
        """The soonest warning or deletion instant, for a reaper that sleeps until then."""
        sessions = await self.list()
        instants = [s.delete_at if s.warned else s.warn_at for s in sessions]
        return min(instants, default=None)
