"""The Discord adapter: application commands from the core's declarations, replies as embeds and modals."""

from bot.platforms.discord.client import DiscordPlatform
from bot.platforms.discord.sender import DiscordSender

__all__ = ["DiscordPlatform", "DiscordSender"]
