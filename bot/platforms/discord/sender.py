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
import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route, handle_message_parameters
from discord.utils import MISSING

from bot.core.clock import to_db
from bot.core.messages import Message
from bot.core.people import Person
from bot.core.platform import (
    CHANNEL_MISSING,
    DMS_CLOSED,
    NOT_LINKED,
    NOT_MEMBER,
    REMOVED,
    ChannelTarget,
    DMTarget,
    PermanentSendError,
    PlatformTask,
    SendRate,
    Target,
    TransientSendError,
    UnknownOutcomeError,
)
from bot.platforms import mention_line, mentioned
from bot.platforms.discord.components import build_view
from bot.platforms.discord.render import Outgoing, render
from bot.platforms.discord.roles import UNKNOWN_MEMBER, MemberRoles

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
NONCE_MAX = 25
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
# Discord's JSON error codes as the core's kinds of failure (bot/core/platform.py); others stay unclassified.
FAILURE_KINDS = {
    CANNOT_DM: DMS_CLOSED,  # DMs closed, or no server shared any more: Discord does not say which
    10013: NOT_MEMBER,  # unknown user
    UNKNOWN_MEMBER: NOT_MEMBER,
    UNKNOWN_CHANNEL: CHANNEL_MISSING,
    50001: CHANNEL_MISSING,  # missing access: the bot cannot see the channel
}
SCHEDULED_EVENT = "scheduled_event"
MEMBER_SYNC = "member_sync"
EXTERNAL_EVENT = 3  # an event somewhere else (a call link, a room): needs a location and an end time
GUILD_ONLY = 2
EVENT_CANCELED = 4
NO_PERMISSION = "skipped: no Manage Events permission"
GRANT_EVENTS = (
    "give the bot's role the Manage Events permission (Server Settings → Roles → the bot's role → Manage Events), "
    "or re-invite it with that permission"
)


def marker(ref: str) -> str:
    """What an event's description ends with, so the event can be found again without its stored id."""
    return f"(cohortbot {ref})"


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
        return PermanentSendError(f"cannot DM this user (DMs closed or no shared server): {reason}", DMS_CLOSED)
    return PermanentSendError(reason, FAILURE_KINDS.get(code))


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
    """Delivers outbox messages on Discord, and does the platform tasks it knows (``task_kinds``)."""

    platform = "discord"
    task_kinds = frozenset({MEMBER_SYNC, SCHEDULED_EVENT})

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
        self._told_permission = False
        self._session: aiohttp.ClientSession | None = None
        self.roles = MemberRoles(app, client, guild_id)

    async def close(self) -> None:
        """Close the sender's HTTP session (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ---- platform tasks ---------------------------------------------------------------------------------
    async def run_task(self, task: PlatformTask, *, key: str) -> str | None:
        """Do ``task``: ``member_sync`` (a member's server roles, see ``roles.py``) or ``scheduled_event``
        (create, update or cancel a server scheduled event; see :meth:`_event`). Both are idempotent."""
        if task.kind not in self.task_kinds:
            raise PermanentSendError(f"Discord does not do {task.kind!r} tasks")
        try:
            if task.kind == MEMBER_SYNC:
                return await self.roles.sync(task.data)
            return await self._event(task.data)
        except (TransientSendError, PermanentSendError):
            raise
        except discord.Forbidden as exc:
            if not self._told_permission:  # once per run; the task is done without an event, the bot carries on
                self._told_permission = True
                log.warning(
                    "Discord refused to manage scheduled events (%s %s): %s. Until then section meetings do not "
                    "appear in the server's Events list; everything else works.",
                    exc.status,
                    exc.text,
                    GRANT_EVENTS,
                )
            return NO_PERMISSION
        except Exception as exc:
            error = classify(exc)
            log.warning("task %s (%s) failed: %s", task.kind, key, error.reason)
            raise error from exc

    async def _event(self, data: dict[str, Any]) -> str | None:
        """Make the event for ``data["ref"]`` show ``data``: update the one made before (its id is stored, or
        found by the ref written in its description after a crash lost the id), else create it; a cancelled
        one is cancelled, if there is one. Returns the event id."""
        ref = str(data["ref"])
        stored = await self._stored_event(ref)
        http = self.client.http
        if data.get("cancelled"):
            if stored is None or stored[1] == "cancelled":
                return stored[0] if stored else None
            with contextlib.suppress(discord.NotFound):  # deleted by hand: nothing left to cancel
                await http.edit_scheduled_event(self.guild_id, stored[0], status=EVENT_CANCELED)
            await self._store_event(ref, stored[0], "cancelled")
            return stored[0]
        payload = {
            "name": data["name"],
            "description": f"{data.get('description') or ''}\n\n{marker(ref)}".strip(),
            "scheduled_start_time": data["start"],
            "scheduled_end_time": data["end"],
            "entity_type": EXTERNAL_EVENT,
            "entity_metadata": {"location": data.get("location") or data["name"]},
            "privacy_level": GUILD_ONLY,
        }
        if stored is None:
            found = await self._find_event(ref)
            stored = (found, "scheduled") if found else None
        if stored is not None and stored[1] == "scheduled":
            try:
                await http.edit_scheduled_event(self.guild_id, stored[0], **payload)
            except discord.NotFound:
                pass  # deleted by hand: make a new one
            else:
                await self._store_event(ref, stored[0], "scheduled")
                return stored[0]
        created = await http.create_guild_scheduled_event(self.guild_id, **payload)
        await self._store_event(ref, str(created["id"]), "scheduled")
        return str(created["id"])

    async def _find_event(self, ref: str) -> str | None:
        """The id of a live event of ours whose description carries ``ref``."""
        for event in await self.client.http.get_scheduled_events(self.guild_id, False):
            if marker(ref) in (event.get("description") or "") and event.get("status") in (1, 2):
                return str(event["id"])
        return None

    async def _stored_event(self, ref: str) -> tuple[str, str] | None:
        row = await self.app.db.fetchone(
            "SELECT event_id, status FROM scheduled_events WHERE platform = 'discord' AND ref = ?", (ref,)
        )
        return (row["event_id"], row["status"]) if row else None

    async def _store_event(self, ref: str, event_id: str, status: str) -> None:
        await self.app.db.execute(
            "INSERT INTO scheduled_events (platform, ref, event_id, status, updated_at) VALUES ('discord', ?, ?, ?, ?)"
            " ON CONFLICT (platform, ref) DO UPDATE SET event_id = excluded.event_id, status = excluded.status,"
            " updated_at = excluded.updated_at",
            (ref, event_id, status, to_db(self.app.clock.now())),
        )

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Deliver ``message`` to ``target``; return the (first) Discord message id."""
        try:
            async with asyncio.timeout(self.timeout):
                channel_id = await self._channel_id(target)
                first: str | None = None
                parts = render(message, self.app.cohort.zone)
                view = build_view(message.actions)
                mentions = mention_line(*await mentioned(self.app, message, "discord"))
                for n, part in enumerate(parts):
                    last = view if n == len(parts) - 1 else None  # buttons go on the last part
                    # mentions in an embed do not notify; in the content of the first part they do (a ping's
                    # @everyone is already there, see render)
                    people = mentions[:1900] if n == 0 and mentions else ""
                    content = " ".join(c for c in (part.content, people) if c) or None
                    sent = await self._post(channel_id, part, nonce_for(key, n), last, content, bool(people))
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

    async def _post(
        self,
        channel_id: int,
        part: Outgoing,
        nonce: str,
        view: discord.ui.View | None = None,
        content: str | None = None,
        people: bool = False,
    ) -> str:
        """One ``POST /channels/{id}/messages`` (JSON, or multipart with files); the new message's id.

        ``content`` (mentions of ``people``, a ping's ``@everyone``) notifies only those: the users mentioned, and
        everyone only for a ping; never a role, and nothing at all otherwise (``allowed_mentions`` says so)."""
        allowed = discord.AllowedMentions(
            everyone=bool(part.allowed_mentions.everyone), users=people, roles=False, replied_user=False
        )
        params = handle_message_parameters(
            content=content or MISSING,
            embeds=part.embeds,
            files=part.files or MISSING,
            nonce=nonce,
            allowed_mentions=allowed,
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
        raise PermanentSendError(
            f"there is no text channel #{name} in the Discord server (check the cohort file)", CHANNEL_MISSING
        )

    async def dm_channel(self, person_id: int) -> int:
        """The DM channel with a roster member, created once and remembered in ``dm_channels``."""
        person = await self.app.people.get(person_id)
        if person is None:
            raise PermanentSendError(f"nobody with id {person_id} is on the roster", REMOVED)
        user_id = person.platform_id("discord")
        if not user_id:
            raise PermanentSendError(f"{person.name} has not linked a Discord account", NOT_LINKED)
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
