"""What a server's admins choose for the bot in Discord: default models (per server and per channel),
the number of images per request, banned words, a negative-prompt prefix, spoiler channels, the
LoRAs members may use, where idle-channel notes go, and the hash of the last command set published
to the server.

One row per server in the `app_settings` table (key `guild:<id>`, a JSON value), read once and
then served from memory; every change goes through `update`, which writes first and then replaces
the cached copy. No Discord here: the bot's `/admin` commands call it.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.errors import StoreError
from core.store import Database, SettingRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuildPrefs:
    default_model: str | None = None                 # workflow name for /imagine without a model
    channel_models: dict[str, str] = field(default_factory=dict)    # channel id (text) -> workflow name
    default_count: int = 1                           # images per /imagine without `count`
    banned_words: tuple[str, ...] = ()               # refused in prompts (whole words, any case)
    negative_prefix: str = ""                        # put before every negative prompt
    spoiler_channels: tuple[int, ...] = ()           # results requested there are sent as spoilers
    lora_allow: tuple[str, ...] = ()                 # LoRA files members may pick (empty: none)
    notice_channel_id: int | None = None             # idle-deletion notes when a DM is refused
    commands_hash: str | None = None                 # the command set last published to the server

    def model_for(self, channel_id: int | None) -> str | None:
        """The channel's default model, else the server's (None: the first enabled workflow)."""
        if channel_id is not None and str(channel_id) in self.channel_models:
            return self.channel_models[str(channel_id)]
        return self.default_model

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> "GuildPrefs":
        """Prefs from a stored value; unknown keys (a newer app) and malformed ones are ignored."""
        if not isinstance(value, dict):
            return cls()
        known = {}
        defaults = cls()
        for name, default in asdict(defaults).items():
            if name not in value:
                continue
            stored = value[name]
            if isinstance(default, tuple) and isinstance(stored, list):
                stored = tuple(stored)
            if default is None or isinstance(stored, type(default)):
                known[name] = stored
        return replace(defaults, **known)


class GuildPrefsStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[int, GuildPrefs] = {}

    @staticmethod
    def _key(guild_id: int) -> str:
        return f"guild:{int(guild_id)}"

    async def get(self, guild_id: int) -> GuildPrefs:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        try:
            async with self._db.sessions() as session:
                row = await session.get(SettingRow, self._key(guild_id))
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the settings of server {guild_id}") from exc
        prefs = GuildPrefs.from_json(row.value if row is not None else None)
        self._cache[guild_id] = prefs
        return prefs

    async def update(self, guild_id: int, **changes: Any) -> GuildPrefs:
        """Store the changed fields, then serve them; a failed write changes nothing."""
        prefs = replace(await self.get(guild_id), **changes)
        key, value = self._key(guild_id), prefs.to_json()
        table = SettingRow.__table__
        try:
            async with self._db.engine.begin() as conn:
                exists = await conn.scalar(select(func.count()).select_from(table).where(table.c.key == key))
                if exists:
                    await conn.execute(table.update().where(table.c.key == key).values(value=value))
                else:
                    await conn.execute(table.insert().values(key=key, value=value))
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store the settings of server {guild_id}") from exc
        self._cache[guild_id] = prefs
        return prefs
