"""The Discord platform runner: log in, connect, sync the guild's commands, and hand the core a sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.core.errors import StartupError
from bot.core.platform import FatalPlatformError, SendRate
from bot.platforms.discord.commands import build_commands
from bot.platforms.discord.components import control_item
from bot.platforms.discord.interactions import InteractionHandler
from bot.platforms.discord.sender import DiscordSender
from bot.platforms.discord.settings import DiscordSettings
from bot.platforms.discord.spec import check_settings

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
READY_TIMEOUT = 60.0
HTTP_CONNECTIONS = 64
# Gateway close codes after which reconnecting cannot help: what they mean and what to fix.
FATAL_CLOSE = {
    4004: "authentication failed: DISCORD_TOKEN is wrong or was reset; copy a fresh token from the developer portal",
    4010: "invalid shard sent when identifying: run one process per bot token, without sharding settings",
    4011: "sharding required: the bot is in too many servers for one connection (cohortbot runs one server)",
    4012: "invalid gateway API version: upgrade cohortbot (its discord.py) to a supported version",
    4013: "invalid intents: upgrade cohortbot; the intents it asks for are not valid",
    4014: "disallowed intents: enable the privileged intents the bot asks for in the developer portal "
    "(Bot > Privileged Gateway Intents), or verify the bot",
}
SYNC_HELP = {
    403: "the bot may not manage this server's commands: invite it with the `bot` and `applications.commands` "
    "scopes (see docs/discord.md), and check DISCORD_GUILD_ID",
    404: "the server or application was not found: check DISCORD_GUILD_ID and that the bot is in that server",
}


class CohortClient(discord.Client):
    """A discord.py client with a command tree whose errors are logged and answered with an apology."""

    def __init__(self, handler: InteractionHandler, *, guild_ready_timeout: float) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # channels and roles (role names of members come with each interaction)
        super().__init__(
            intents=intents,
            guild_ready_timeout=guild_ready_timeout,
            chunk_guilds_at_startup=False,
            # Keep-alive connections, at most this many: discord.py's default (no limit) opens a connection per
            # request in flight, thousands under a burst of interactions, each costing a handshake.
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
        )
        self.handler = handler
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("Discord command %s failed in the adapter", interaction.data, exc_info=error)
        await self.handler.apologise(interaction)


class DiscordPlatform:
    """Runs cohortbot on Discord (implements :class:`bot.core.platform.PlatformRunner`)."""

    name = "discord"

    def __init__(self, app: CohortBot, settings: DiscordSettings, *, guild_ready_timeout: float = 2.0) -> None:
        self.app = app
        self.settings = settings
        self.guild_ready_timeout = guild_ready_timeout
        self.handler = InteractionHandler(app)
        self.client: CohortClient | None = None
        self.sender: DiscordSender | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in, connect, wait until ready, sync the guild's commands and register the sender."""
        token = check_settings(self.settings)
        discord.http.Route.BASE = self.settings.api_url.rstrip("/")
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)

        client = CohortClient(self.handler, guild_ready_timeout=self.guild_ready_timeout)
        self.client = client
        guild = discord.Object(self.settings.guild_id)
        for built in build_commands(self.app.registry, self.handler.invoke, self.handler.complete):
            client.tree.add_command(built, guild=guild)
        client.add_dynamic_items(control_item(self.handler.click))
        try:
            await self._connect(client, token)
        except BaseException:
            await self.stop()
            raise
        await self.sync()
        rate = SendRate(per_second=self.settings.rate_per_second)
        self.sender = DiscordSender(self.app, client, self.settings.guild_id, rate=rate)
        self.app.senders["discord"] = self.sender
        log.info("Discord: connected as %s, %d commands", client.user, len(self.app.registry))

    async def _connect(self, client: CohortClient, token: str) -> None:
        """Log in and connect to the gateway; return when the server's data has arrived."""
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise StartupError("Discord refused DISCORD_TOKEN: it is wrong or was reset; copy a fresh one") from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise StartupError(f"could not reach Discord at {self.settings.api_url}: {exc}") from exc
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, self._task}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._raise_if_fatal(self._task)
            raise StartupError(f"could not connect to the Discord gateway at {self.settings.gateway_url}")

    async def sync(self) -> bool:
        """Sync the declared commands to the guild; a failure is logged with what to fix."""
        assert self.client is not None and self.settings.guild_id is not None
        try:
            synced = await self.client.tree.sync(guild=discord.Object(self.settings.guild_id))
        except discord.HTTPException as exc:
            fix = SYNC_HELP.get(exc.status, "see the error above; commands from the last successful sync stay")
            log.error("Discord: syncing the commands failed (%s %s): %s", exc.status, exc.text, fix)
            return False
        log.info("Discord: synced %d commands to server %s", len(synced), self.settings.guild_id)
        return True

    async def stop(self) -> None:
        """Disconnect (idempotent)."""
        if self.sender is not None and self.app.senders.get("discord") is self.sender:
            del self.app.senders["discord"]
        if self.sender is not None:
            await self.sender.close()
        if self.client is not None and not self.client.is_closed():
            await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def wait(self) -> None:
        """Return when the gateway connection has ended; :class:`FatalPlatformError` if Discord ended it for good
        (a fatal close code: the message says why and what to fix), so the process exits non-zero."""
        if self._task is not None:
            await asyncio.wait({self._task})  # (cancelling wait() leaves the gateway task alone)
            self._raise_if_fatal(self._task)

    @staticmethod
    def _raise_if_fatal(task: asyncio.Task[None]) -> None:
        """Turn the gateway task's end into :class:`FatalPlatformError` if Discord closed it for good."""
        if not task.done() or task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        code = getattr(exc, "code", None)
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            code = 4014
        if code in FATAL_CLOSE:
            raise FatalPlatformError(f"Discord closed the gateway with code {code}, {FATAL_CLOSE[code]}") from exc
        raise FatalPlatformError(f"the Discord gateway connection ended: {type(exc).__name__}: {exc}") from exc
