"""Discord adapter test fixtures: ``fake_discord`` and ``discord_platform`` (see tests/fakes/discord_api.py)."""

from tests.fakes.discord_api import discord_platform, fake_discord

__all__ = ["discord_platform", "fake_discord"]
