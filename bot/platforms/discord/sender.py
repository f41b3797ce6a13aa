"""The outgoing side used by the outbox worker: post to a channel by name, or DM a roster member.

No pacing here (the outbox worker paces, at the sender's ``rate``: Discord's global 50/s less one), and no
retrying: each message is one ``POST /channels/{id}/messages`` on the sender's own HTTP session, built with
discord.py's ``handle_message_parameters`` (embeds, files, nonce) but sent without discord.py's request loop,
which would re-send 500/502/504 answers and 429s on its own, unpaced, behind the worker's back. Every failure is
mapped to :class:`TransientSendError` (worth retrying; a 429 with its ``retry_after``), :class:`UnknownOutcomeError`
(no answer: a timeout or a dropped connection) or :class:`PermanentSendError`. Each message carries a stable
nonce made from the outbox key with ``enforce_nonce``: Discord returns the earlier message instead of posting a
second one within its nonce window, so a resend after an unknown outcome or a crash is not a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route, handle_message_parameters
from discord.utils import MISSING

from bot.core.clock import to_db
from bot.core.messages import Message
from bot.core.platform import (
    ChannelTarget,
    DMTarget,
    PermanentSendError,
    PlatformTask,
    SendRate,
    Target,
    TransientSendError,
    UnknownOutcomeError,
)
from bot.platforms.discord.components import build_view
from bot.platforms.discord.render import Outgoing, render
from bot.platforms.discord.roles import MemberRoles

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


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def answered(status: int, body: Any, headers: Any = None) -> TransientSendError | PermanentSendError:
    """The send error for a Discord error answer (``status``, its JSON ``body``, its headers)."""
    body = body if isinstance(body, dict) else {"message": str(body or "")}
    headers = headers or {}
    code = body.get("code", 0)
    reason = f"Discord {status} (code {code}): {body.get('message') or 'no details'}"
    if status == 429:
        retry_after = _seconds(body.get("retry_after"))
        for name in ("Retry-After", "X-RateLimit-Reset-After"):
            retry_after = retry_after if retry_after is not None else _seconds(headers.get(name))
        return TransientSendError(reason, retry_after)
    if status >= 500 or status == 408:
        return TransientSendError(reason)
    if code == CANNOT_DM:
        return PermanentSendError(f"cannot DM this user (DMs closed or no shared server): {reason}")
    return PermanentSendError(reason)


def classify(error: BaseException) -> TransientSendError | PermanentSendError:
    """A discord.py or network error as a send error (no answer at all: :class:`UnknownOutcomeError`)."""
    if isinstance(error, discord.RateLimited):
        return TransientSendError(f"Discord rate limit ({error.retry_after:.1f}s)", error.retry_after)
    if isinstance(error, discord.HTTPException):
        headers = getattr(error.response, "headers", None)
        return answered(error.status, {"code": error.code, "message": error.text}, headers)
    if isinstance(error, aiohttp.ClientConnectorError):  # never connected: the request did not go out
        return TransientSendError(f"network error talking to Discord: {type(error).__name__}: {error}")
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return UnknownOutcomeError(f"no answer from Discord: {type(error).__name__}: {error}")
    return TransientSendError(f"unexpected error while sending: {type(error).__name__}: {error}")


class _Refused(Exception):
    """Discord answered an error (carried as the send error it means)."""

    def __init__(self, error: TransientSendError | PermanentSendError, code: int) -> None:
        super().__init__(error.reason)
        self.error = error
        self.code = code


class DiscordSender:
    """Delivers outbox messages on Discord."""

    platform = "discord"
    task_kinds = frozenset({"member_sync"})

    def __init__(
        self,
        app: CohortBot,
        client: discord.Client,
        guild_id: int,
        *,
        rate: SendRate | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.client = client
        self.guild_id = guild_id
        self.rate = rate or SendRate(per_second=49.0)
        self.timeout = timeout  # seconds for the whole send; past it the outcome is unknown
        self._channels: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None
        self.roles = MemberRoles(app, client, guild_id)

    async def close(self) -> None:
        """Close the sender's HTTP session (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def run_task(self, task: PlatformTask, *, key: str) -> str | None:
        """Do a :class:`PlatformTask`: ``member_sync`` (server roles, see ``roles.py``); other kinds fail."""
        if task.kind != "member_sync":
            raise PermanentSendError(f"Discord cannot do {task.kind} tasks")
        try:
            return await self.roles.sync(task.data)
        except (TransientSendError, PermanentSendError):
            raise
        except Exception as exc:
            error = classify(exc)
            log.warning("task %s failed: %s", key, error.reason)
            raise error from exc

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Deliver ``message`` to ``target``; return the (first) Discord message id."""
        try:
            async with asyncio.timeout(self.timeout):
                channel_id = await self._channel_id(target)
                first: str | None = None
                parts = render(message, self.app.cohort.zone)
                view = build_view(message.actions)
                for n, part in enumerate(parts):
                    last = view if n == len(parts) - 1 else None  # buttons go on the last part
                    sent = await self._post(channel_id, part, nonce_for(key, n), last)
                    first = first or sent
            return first
        except (TransientSendError, PermanentSendError):
            raise
        except Exception as exc:
            error = exc.error if isinstance(exc, _Refused) else classify(exc)
            if isinstance(target, DMTarget) and getattr(exc, "code", None) == UNKNOWN_CHANNEL:
                await self.forget_dm_channel(target.person_id)  # deleted: open a new one on the retry
                error = TransientSendError(f"the DM channel was gone; a new one is opened next time ({error.reason})")
            log.warning("sending %s to %s failed: %s", key, target.describe(), error.reason)
            raise error from exc

    async def _post(self, channel_id: int, part: Outgoing, nonce: str, view: discord.ui.View | None = None) -> str:
        """One ``POST /channels/{id}/messages`` (JSON, or multipart with files); the new message's id."""
        params = handle_message_parameters(
            embeds=part.embeds,
            files=part.files or MISSING,
            nonce=nonce,
            allowed_mentions=self.client.allowed_mentions,
            view=view or MISSING,
        )
        url = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id).url
        headers = {"Authorization": f"Bot {self.client.http.token}", "User-Agent": self.client.http.user_agent}
        with params:
            if params.files:
                form = aiohttp.FormData(quote_fields=False)
                for field in params.multipart or []:
                    form.add_field(**field)
                body: dict[str, Any] = {"data": form}
            else:
                body = {"json": params.payload}
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession()
            async with self._session.post(url, headers=headers, **body) as response:
                raw = await response.read()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"message": raw[:200].decode("utf-8", "replace")}
        if 200 <= response.status < 300:
            return str(data["id"])
        code = data.get("code", 0) if isinstance(data, dict) else 0
        raise _Refused(answered(response.status, data, response.headers), code)

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
