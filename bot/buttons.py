"""What every button of ours that outlives a restart shares (Reroll, Edit, Delete, Keep).

Each is a `DynamicItem`: its custom_id, `imagebot:<action>:<id>[:<id>...]`, carries the ids it
acts on, so the bot rebuilds the button from the id alone after a restart. Each refuses outside
the allowed guilds, and a failure in `press` becomes the one polite error message.
"""
from __future__ import annotations

import re
from typing import ClassVar

import discord

from bot.context import BotContext


# The base's template matches nothing: only the subclasses are registered with the bot.
class PersistentButton(discord.ui.DynamicItem[discord.ui.Button], template=r"imagebot:(?!)"):
    """Subclasses set `action`, `emoji`, `style` and a `template` with one `(\\d+)` group per id,
    in the order the constructor takes them, and implement `press`."""

    action: ClassVar[str]
    emoji: ClassVar[str | None]
    style: ClassVar[discord.ButtonStyle]

    def __init__(self, *ids: int, label: str | None, row: int | None = None) -> None:
        custom_id = ":".join(["imagebot", self.action, *map(str, ids)])
        super().__init__(discord.ui.Button(label=label, emoji=self.emoji, style=self.style, custom_id=custom_id), row=row)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /):
        return cls(*(int(value) for value in match.groups()), label=item.label)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        bot: BotContext = interaction.client  # type: ignore[assignment]
        return await bot.guard_interaction(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BotContext = interaction.client  # type: ignore[assignment]
        await bot.run_guarded(interaction, self.press(bot, interaction))

    async def press(self, bot: BotContext, interaction: discord.Interaction) -> None:
        raise NotImplementedError
