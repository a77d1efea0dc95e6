"""Running the bot inside the app: start, stop and watch it, and check a token before saving it.

The tray's Start/Stop bot and the headless mode use `BotRunner`; its state goes onto the core bus
as `BotStateChanged`, which the tray shows. `check_token` logs in over HTTP only (no gateway) so
the setup wizard can show the bot's name or Discord's refusal.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import discord

from core.events import EventBus
from core.status import BotIdentity, BotStateChanged

log = logging.getLogger(__name__)

TOKEN_REJECTED = "Discord rejected the bot token: copy it again from the Developer Portal (Bot → Reset Token) and save it in Settings."


class BotRunner:
    """Owns one ImageBot at a time; a stopped bot is rebuilt on the next start (discord.py clients are single-use)."""

    def __init__(self, make_bot: Callable[[], discord.Client], token: str | None, bus: EventBus) -> None:
        self._make_bot = make_bot
        self._token = token
        self._bus = bus
        self._bot: discord.Client | None = None
        self._task: asyncio.Task | None = None

    @property
    def bot(self) -> discord.Client | None:
        return self._bot

    def is_connected(self) -> bool:
        return self._bot is not None and self._bot.is_ready() and not self._bot.is_closed()

    def set_token(self, token: str | None) -> None:
        self._token = token

    async def start(self) -> None:
        """Log in and connect; raises with a clear message when the token is missing or rejected."""
        if self._task is not None and not self._task.done():
            return
        if not self._token:
            message = "No Discord token is set: open Settings (or set DISCORD_TOKEN) to start the bot."
            self._publish(False, message)
            raise RuntimeError(message)
        bot = self._make_bot()
        try:
            await bot.login(self._token)
        except discord.LoginFailure as exc:
            await bot.close()
            self._publish(False, TOKEN_REJECTED)
            raise RuntimeError(TOKEN_REJECTED) from exc
        except (discord.HTTPException, OSError) as exc:
            await bot.close()
            message = f"Cannot reach Discord ({type(exc).__name__}): check the internet connection; the bot will not start."
            self._publish(False, message)
            raise RuntimeError(message) from exc
        self._bot = bot
        self._task = asyncio.create_task(self._run(bot), name="discord-bot")
        bot.add_listener(self._on_ready, "on_ready")
        bot.add_listener(self._on_disconnect, "on_disconnect")

    async def _run(self, bot: discord.Client) -> None:
        try:
            await bot.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except discord.PrivilegedIntentsRequired:
            self._publish(False, "Discord refused the bot: switch on the Message Content intent in the Developer Portal (Bot page).")
        except Exception as exc:
            log.exception("the Discord bot stopped")
            self._publish(False, f"The Discord bot stopped: {type(exc).__name__}. See the log for details.")

    async def _on_ready(self) -> None:
        self._publish(True, f"Connected to Discord as {self._bot.user}")

    async def _on_disconnect(self) -> None:
        self._publish(False, "Disconnected from Discord; reconnecting")

    async def stop(self) -> None:
        bot, task = self._bot, self._task
        self._bot = self._task = None
        if bot is not None:
            await bot.close()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._publish(False, "The Discord bot is stopped")

    def _publish(self, connected: bool, message: str) -> None:
        self._bus.publish(BotStateChanged(connected=connected, message=message))


async def check_token(token: str) -> BotIdentity:
    """Log in over HTTP with `token`; return the bot's name or raise with Discord's refusal in words."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token.strip())
        user = client.user
        return BotIdentity(name=str(user), id=user.id if user else None)
    except discord.LoginFailure as exc:
        raise ValueError(TOKEN_REJECTED) from exc
    except (discord.HTTPException, OSError) as exc:
        raise ValueError(f"Cannot reach Discord to check the token ({type(exc).__name__}): check the internet connection.") from exc
    finally:
        await client.close()
