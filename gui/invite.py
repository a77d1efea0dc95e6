"""The bot's invite link, with exactly the permissions the bot uses (no discord import in gui/).

The bot answers slash commands, posts results with embeds and files in a private session channel
per user, reads that channel's history to find its status messages, and creates and deletes those
channels (giving the user and itself access through the channel's overwrites at creation time,
which needs Manage Channels; editing overwrites afterwards would also need Manage Roles).
"""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

# Discord permission bits (https://discord.com/developers/docs/topics/permissions)
PERMISSIONS = {
    "Manage Channels": 1 << 4,         # create / delete the private session channels
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,            # result embeds
    "Attach Files": 1 << 15,           # the images
    "Read Message History": 1 << 16,   # edit its own status messages after a restart
}
PERMISSIONS_VALUE = sum(PERMISSIONS.values())      # 117776
SCOPES = ("bot", "applications.commands")


def application_id_from_token(token: str) -> int | None:
    """A bot token's first part is the bot's user id (= its application id), base64-encoded."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def invite_url(application_id: int, guild_id: int | None = None) -> str:
    query = {"client_id": str(application_id), "permissions": str(PERMISSIONS_VALUE), "scope": " ".join(SCOPES)}
    if guild_id:
        query.update(guild_id=str(guild_id), disable_guild_select="true")
    return "https://discord.com/oauth2/authorize?" + urlencode(query)
