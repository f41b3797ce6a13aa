"""Gateway closes: a fatal close code ends the bot with a non-zero exit and the reason in its log; a resumable
one is resumed and the bot keeps going."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.app import CohortBot
from tests.fakes.discord_api import TOKEN, FakeDiscord, started_discord
from tests.processes import bot_env, start_bot


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return bot_env(
        DISCORD_TOKEN=TOKEN,
        DISCORD_GUILD_ID=str(fake.guild_id),
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )


@pytest.mark.parametrize("when", ["at identify", "while running"])
async def test_close_4004_exits_non_zero_saying_why(tmp_path, when):
    log = tmp_path / "bot.log"
    async with FakeDiscord() as fake:
        if when == "at identify":
            fake.close_on_identify = 4004
        bot = await start_bot("discord", tmp_path / "bot.db", discord_env(fake), log)
        try:
            if when == "while running":
                deadline = time.monotonic() + 20
                while "cohortbot is running" not in log.read_text():
                    assert time.monotonic() < deadline and bot.returncode is None, log.read_text()
                    await asyncio.sleep(0.05)
                await fake.close_gateway(4004)
            code = await asyncio.wait_for(bot.wait(), 10)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    text = log.read_text()
    assert code == 1
    assert "Discord closed the gateway with code 4004, authentication failed: DISCORD_TOKEN is wrong" in text
    assert text.strip().splitlines()[-1].startswith("cohortbot: Discord closed the gateway with code 4004")
    assert "Traceback" not in text


async def test_a_resumable_close_is_resumed(app: CohortBot):
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            await fake.close_gateway(4000)  # "unknown error": Discord says reconnect and resume
            deadline = time.monotonic() + 10
            while not any(frame.get("op") == 6 for frame in fake.gateway_received):
                assert time.monotonic() < deadline, fake.gateway_received
                await asyncio.sleep(0.02)
            assert platform._task is not None and not platform._task.done()
        finally:
            await platform.stop()
        await asyncio.wait_for(platform.wait(), 5)  # a clean stop is not an error
