"""The Discord adapter: application commands from the core's declarations, replies as embeds and components.

Its classes are imported on first use, so that reading the platform's ``spec`` does not load discord.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.platforms.discord.client import DiscordPlatform
    from bot.platforms.discord.sender import DiscordSender

__all__ = ["DiscordPlatform", "DiscordSender"]


def __getattr__(name: str) -> Any:
    if name == "DiscordPlatform":
        from bot.platforms.discord.client import DiscordPlatform

        return DiscordPlatform
    if name == "DiscordSender":
        from bot.platforms.discord.sender import DiscordSender

        return DiscordSender
    raise AttributeError(name)
