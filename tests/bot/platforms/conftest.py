"""Fixtures for the Discord adapter tests: the fake Discord and a started platform."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import CohortBot
from bot.platforms.discord import DiscordPlatform
from tests.fakes.discord_api import FakeDiscord, started_discord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A fresh fake Discord on a free loopback port."""
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def discord_platform(app: CohortBot, fake_discord: FakeDiscord) -> AsyncIterator[DiscordPlatform]:
    """The real adapter, started against ``fake_discord`` with the app's commands."""
    platform = await started_discord(app, fake_discord)
    yield platform
    await platform.stop()
