"""The outgoing side used by the outbox worker: post to a channel by name, or DM a roster member.

No pacing here (the outbox worker paces); discord.py's own 429 handling still applies. Every failure is
mapped to :class:`TransientSendError` (worth retrying) or :class:`PermanentSendError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.core.clock import to_db
from bot.core.messages import Message
from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, Target, TransientSendError
from bot.platforms.discord.components import build_view
from bot.platforms.discord.render import render

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
NONCE_MAX = 25
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003


def nonce_for(key: str, part: int = 0) -> str:
    """A stable Discord nonce (at most 25 characters) for the outbox key, so a resend is not a duplicate."""
    text = key if part == 0 else f"{key}#{part}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:NONCE_MAX]


def _retry_after(error: discord.HTTPException) -> float | None:
    headers = getattr(error.response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        try:
            return float(headers[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def classify(error: BaseException) -> TransientSendError | PermanentSendError:
    """A discord.py or network error as a send error."""
    if isinstance(error, discord.RateLimited):
        return TransientSendError(f"Discord rate limit ({error.retry_after:.1f}s)", error.retry_after)
    if isinstance(error, discord.HTTPException):
        reason = f"Discord {error.status} (code {error.code}): {error.text or 'no details'}"
        if error.status == 429:
            return TransientSendError(reason, _retry_after(error))
        if error.status >= 500 or error.status == 408:
            return TransientSendError(reason)
        if error.code == CANNOT_DM:
            return PermanentSendError(f"cannot DM this user (DMs closed or no shared server): {reason}")
        return PermanentSendError(reason)
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return TransientSendError(f"network error talking to Discord: {type(error).__name__}: {error}")
    return TransientSendError(f"unexpected error while sending: {type(error).__name__}: {error}")


class DiscordSender:
    """Delivers outbox messages on Discord."""

    platform = "discord"

    def __init__(self, app: CohortBot, client: discord.Client, guild_id: int) -> None:
        self.app = app
        self.client = client
        self.guild_id = guild_id
        self._channels: dict[str, int] = {}

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Deliver ``message`` to ``target``; return the (first) Discord message id."""
        try:
            channel_id = await self._channel_id(target)
            channel = self.client.get_partial_messageable(channel_id)
            first: str | None = None
            parts = render(message, self.app.cohort.zone)
            view = build_view(message.actions)
            for n, part in enumerate(parts):
                extra: dict[str, Any] = {"view": view} if view is not None and n == len(parts) - 1 else {}
                files = part.files or None
                sent = await channel.send(  # type: ignore[call-overload]
                    content=part.content,
                    embeds=part.embeds,
                    files=files,
                    nonce=nonce_for(key, n),
                    allowed_mentions=part.allowed_mentions,
                    **extra,
                )
                first = first or str(sent.id)
            return first
        except (TransientSendError, PermanentSendError):
            raise
        except Exception as exc:
            error = classify(exc)
            if isinstance(target, DMTarget) and getattr(exc, "code", None) == UNKNOWN_CHANNEL:
                await self.forget_dm_channel(target.person_id)  # deleted: open a new one on the retry
                error = TransientSendError(f"the DM channel was gone; a new one is opened next time ({error.reason})")
            log.warning("sending %s to %s failed: %s", key, target.describe(), error.reason)
            raise error from exc

    async def unreachable(self, people: Sequence[Person]) -> dict[int, str]:
        """Who cannot be reached here: no Discord account linked; and, when the server's member list is cached
        (the privileged members intent), not in the server. Without that intent Discord cannot tell cheaply."""
        out = {p.id: "has no Discord account linked" for p in people if not p.platform_id("discord")}
        guild = self.client.get_guild(self.guild_id)
        if guild is not None and self.client.intents.members and guild.chunked:
            for p in people:
                user_id = p.platform_id("discord")
                if user_id and guild.get_member(int(user_id)) is None:
                    out[p.id] = "is not in the server"
        return out

    async def _channel_id(self, target: Target) -> int:
        if isinstance(target, ChannelTarget):
            return self.channel_by_name(target.channel)
        if isinstance(target, DMTarget):
            return await self.dm_channel(target.person_id)
        raise PermanentSendError(f"unknown target {target!r}")

    def channel_by_name(self, name: str) -> int:
        """The id of the server's text channel called ``name`` (cached)."""
        key = name.lstrip("#").casefold()
        if key in self._channels:
            return self._channels[key]
        guild = self.client.get_guild(self.guild_id)
        if guild is None:
            raise TransientSendError(f"not connected to the Discord server {self.guild_id} yet")
        for channel in guild.text_channels:
            if channel.name.casefold() == key:
                self._channels[key] = channel.id
                return channel.id
        raise PermanentSendError(f"there is no text channel #{name} in the Discord server (check the cohort file)")

    async def dm_channel(self, person_id: int) -> int:
        """The DM channel with a roster member, created once and remembered in ``dm_channels``."""
        person = await self.app.people.get(person_id)
        if person is None:
            raise PermanentSendError(f"nobody with id {person_id} is on the roster")
        user_id = person.platform_id("discord")
        if not user_id:
            raise PermanentSendError(f"{person.name} has not linked a Discord account")
        db = self.app.db
        sql = "SELECT channel_id FROM dm_channels WHERE platform = 'discord' AND user_id = ?"
        known = await db.fetchval(sql, (user_id,))
        if known:
            return int(known)
        data = await self.client.http.start_private_message(int(user_id))
        columns = {row["name"] for row in await db.fetchall("PRAGMA table_info(dm_channels)")}
        values = {"platform": "discord", "user_id": user_id, "channel_id": str(data["id"])}
        if "created_at" in columns:  # tolerate a schema that also records when
            values["created_at"] = to_db(self.app.clock.now())
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        await db.execute(f"INSERT OR REPLACE INTO dm_channels ({names}) VALUES ({marks})", tuple(values.values()))
        return int(data["id"])

    async def forget_dm_channel(self, person_id: int) -> None:
        """Drop a remembered DM channel (Discord said it no longer exists)."""
        person = await self.app.people.get(person_id)
        user_id = person.platform_id("discord") if person is not None else None
        if user_id:
            sql = "DELETE FROM dm_channels WHERE platform = 'discord' AND user_id = ?"
            await self.app.db.execute(sql, (user_id,))
