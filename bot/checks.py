"""Who may use the bot where: the guild allowlist and bot admins."""
from __future__ import annotations

import discord

from core.settings import Settings

ADMIN_CHANNEL = "admin-tools"


def guild_allowed(settings: Settings, guild_id: int | None) -> bool:
    """An empty allowlist allows nothing: the bot refuses until ALLOWED_GUILD_ID is set."""
    return guild_id is not None and guild_id in settings.allowed_guild_ids


def is_admin(settings: Settings, member: discord.abc.User | None) -> bool:
    """Server administrators and members holding one of settings.admin_role_ids."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.administrator:
        return True
    admin_roles = set(settings.admin_role_ids)
    return any(role.id in admin_roles for role in member.roles)


def role_ids(member: discord.abc.User) -> tuple[int, ...]:
    return tuple(role.id for role in getattr(member, "roles", ()) if not role.is_default())
