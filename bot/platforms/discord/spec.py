"""Discord as a platform: what it can do, how its user ids look, and how to start it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.errors import StartupError
from bot.core.platform import Capabilities
from bot.platforms import PlatformSpec
from bot.platforms.discord.settings import DiscordSettings
from bot.settings import read_settings

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.core.platform import PlatformRunner
    from bot.settings import Settings
    from schedules.runtime import Runtime

CAPS = Capabilities(label="Discord", files=True, id_hint="user id")


def check_settings(discord: DiscordSettings) -> str:
    """The bot token, once the settings needed to start are there; else :class:`StartupError` saying what to set."""
    token = discord.token.get_secret_value().strip() if discord.token else ""
    if not token:
        raise StartupError("DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in it")
    if discord.guild_id is None:
        raise StartupError("DISCORD_GUILD_ID is not set: it is the id of the server the bot runs in")
    return token


def check(settings: Settings) -> None:
    """Before the database is opened: the ``DISCORD_*`` settings can be read and name a token and a server."""
    check_settings(read_settings(DiscordSettings))


def create(app: CohortBot, settings: Settings, runtime: Runtime) -> PlatformRunner:
    """The Discord bot, from the ``DISCORD_*`` settings."""
    from bot.platforms.discord.client import DiscordPlatform

    return DiscordPlatform(app, read_settings(DiscordSettings))


SPEC = PlatformSpec(
    name="discord",
    caps=CAPS,
    create=create,
    roster_column="discord_id",
    id_pattern=r"\d{15,21}",
    id_example="a Discord user id (15–21 digits)",
    check=check,
)
