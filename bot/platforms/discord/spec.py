"""Discord as a platform: what it can do, how its user ids look, and how to start it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.platform import Capabilities
from bot.platforms import PlatformSpec

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.core.platform import PlatformRunner
    from bot.settings import Settings
    from schedules.runtime import Runtime

CAPS = Capabilities(label="Discord", files=True, id_hint="user id")


def create(app: CohortBot, settings: Settings, runtime: Runtime) -> PlatformRunner:
    """The Discord bot, from the ``DISCORD_*`` settings."""
    from bot.platforms.discord.client import DiscordPlatform
    from bot.settings import DiscordSettings

    return DiscordPlatform(app, DiscordSettings())


SPEC = PlatformSpec(
    name="discord",
    caps=CAPS,
    create=create,
    roster_column="discord_id",
    id_pattern=r"\d{15,21}",
    id_example="a Discord user id (15–21 digits)",
)
