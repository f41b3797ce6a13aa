"""A small fake Discord (REST + gateway websocket on one loopback port) that records every request.

Fixtures (import them into a test module or a conftest.py to use them anywhere)::

    from tests.fakes.discord_api import discord_platform, fake_discord  # noqa: F401

    async def test_weekly_post(app, fake_discord, discord_platform):
        await app.senders["discord"].send(ChannelTarget("intro-course"), message, key="weekly:1:intro")
        [post] = fake_discord.find("POST", r"/channels/\\d+/messages")

* ``fake_discord``: a running :class:`FakeDiscord`; ``discord_platform``: the real :class:`DiscordPlatform` for the
  ``app`` fixture (tests/plugin.py), logged in, ready, commands synced, ``app.senders["discord"]`` set.

Or by hand::

    from tests.fakes.discord_api import FakeDiscord, started_discord

    async def test_something(app):  # the ``app`` fixture of tests/plugin.py
        async with FakeDiscord() as fake:
            platform = await started_discord(app, fake)  # logged in, ready, commands synced
            try:
                await fake.interact(fake.command("readings", {"week": 2}, user_id=ADA))
                call = await fake.wait_for("POST", r"/interactions/\\d+/[^/]+/callback")
                assert call.json["type"] == 4
                # the outbox side: app.senders["discord"].send(ChannelTarget("intro-course"), msg, key="k")
            finally:
                await platform.stop()

* ``fake.requests``: every REST request as a :class:`Recorded` (method, path below ``/api/v10``, query, json,
  multipart ``files`` and ``form``); ``fake.find(method, path_regex)`` filters them, ``await fake.wait_for(...)``
  waits (up to 2 s) for one to arrive.
* ``fake.posted``: the channel messages created (what users see). As on Discord, a message sent with
  ``enforce_nonce`` and a nonce already used in that channel within ``fake.nonce_window`` seconds (default 5
  minutes; ``fake.monotonic`` is the clock) creates nothing new: the first message is returned again
  (``fake.deduplicated`` counts those). ``fake.user_duplicates()`` counts extra copies of any one nonce.
* ``fake.gateway_received``: every frame the bot sent on the gateway (IDENTIFY, heartbeats).
* ``fake.command(...)``, ``fake.autocomplete(...)``, ``fake.modal_submit(...)`` build INTERACTION_CREATE payloads;
  ``await fake.interact(payload)`` sends one down the gateway.
* A file larger than Discord's attachment limit (10 MB) is refused with 413 (code 40005), as Discord does.
* Failure knobs: ``fake.rate_limit(n, retry_after=0.05, path=None)`` answers the next ``n`` matching requests with
  429 (JSON body and headers as Discord sends them); ``fake.fail(status, code=0, n=1, path=None)`` answers the next
  ``n`` matching requests with any other error (403 + code 50007 is "cannot DM this user").
  The outbox's ``DiscordSender`` posts messages itself (one request per send: every 429 and 5xx reaches it);
  requests made through discord.py's own client (interaction answers, DM channels) are retried by discord.py: a
  429 up to 5 times (sleeping ``retry_after``), 500/502/504 after 1, 3, 5... real seconds (avoid those there).
* Fault knobs (``path`` is a regex of the REST path; ``MESSAGES`` by default):
  ``fake.drop_after_accept(n)`` handles the next ``n`` requests (the message is created) and then drops the
  connection without an answer; ``fake.answer_late(n, delay)`` handles them and answers ``delay`` seconds later
  (after the client's timeout); ``fake.outage(status=503)`` answers every REST request with ``status`` (or, with
  ``drop=True``, closes the connection unanswered) until ``fake.end_outage()``; ``fake.error_rate(p)`` answers a
  random fraction ``p`` of requests with a 5xx (``statuses``, seeded); ``fake.close_gateway(code)`` closes the
  bot's gateway socket with a close code, and ``fake.close_on_identify = code`` does it when the bot identifies.
* The 3-second rule, as Discord applies it: an interaction's first callback (answer, defer or modal) must arrive
  within ``fake.callback_deadline`` (3 s) of the moment ``interact()`` sent it, else it is refused with
  404 ``Unknown interaction`` (code 10062) and recorded in ``fake.late_callbacks``; a second callback for the same
  interaction is refused with 400 (code 40060, already acknowledged). Followups after a defer are not limited.
  Interaction ids are snowflakes of the moment they were made, as Discord's are (``Interaction.created_at``).
* Scheduled events (the server's Events list): ``GET/POST /guilds/{id}/scheduled-events`` and ``GET/PATCH/DELETE
  /guilds/{id}/scheduled-events/{event}``, kept in ``fake.scheduled_events`` (id -> event). As Discord does, the
  fake refuses an external event (type 3) without a location or an end, an end before the start, and any change
  to a cancelled or completed event; the list leaves cancelled and completed events out. Without the Manage
  Events permission Discord answers 403 / code 50013: ``fake.fail(403, code=50013, n=99, path="scheduled-events")``.
* Ids: ``fake.guild_id``, ``fake.app_id``, ``fake.channels`` (name -> id: ``intro-course``, ``advanced-course``,
  ``general``, plus the sections' channels), ``fake.dm_channels`` (user id -> created DM channel id).
  Members are the example roster's Discord ids plus ``STRANGER`` (not on the roster); ``ALAN`` holds the
  ``Facilitators`` role and ``GRACE`` the ``Organizers`` role.
* Server roles: ``GET /guilds/{g}/members/{u}`` (404 code 10007 for someone not in the server), ``GET`` and
  ``POST /guilds/{g}/roles`` (list, create), ``PUT`` / ``DELETE /guilds/{g}/members/{u}/roles/{r}`` (204; they
  change ``fake.members``); ``fake.member_roles(user_id)`` is a member's role names now. ``fake.add_member(id,
  name)`` puts someone in the server.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord.utils
import pytest
from aiohttp import WSMsgType, web
from pydantic import SecretStr

from bot.platforms.discord.settings import DiscordSettings

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.platforms.discord import DiscordPlatform

GRACE = 100000000000000001  # organizer
ALAN = 100000000000000002  # facilitator
ADA = 100000000000000011  # scholar
EMMY = 100000000000000014  # scholar, Europe/Berlin
STRANGER = 100000000000000999  # a server member who is not on the roster
TOKEN = "fake-discord-token"
CHANNEL_NAMES = (
    "general",
    "intro-course",
    "advanced-course",
    "section-americas",
    "section-europe",
    "section-apac",
    "organizers",  # the example cohort's roster.organizer_channel (join requests)
)
JSON = "application/json"  # discord.py only parses JSON when the Content-Type is exactly this
INTERACTION_DEADLINE = 3.0  # seconds Discord waits for an interaction's first callback
ATTACHMENT_LIMIT = 10 * 1024 * 1024  # the largest file a bot may attach on a server without boosts
MESSAGES = r"/channels/\d+/messages"


@dataclass
class Recorded:
    """One REST request as the fake received it."""

    method: str
    path: str  # below the API base, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (filename, content)
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> Any:
        """The JSON body, also for multipart requests (their ``payload_json`` part)."""
        if self.json is not None:
            return self.json
        if "payload_json" in self.form:
            return json.loads(self.form["payload_json"])
        return None


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int
    path: re.Pattern[str] | None


@dataclass
class _Fault:
    kind: str  # "drop" (handled, then the connection is closed unanswered) or "late" (answered after `delay`)
    remaining: int
    path: re.Pattern[str]
    delay: float = 0.0


def _respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(data).encode("utf-8")
    return web.Response(body=body, status=status, headers={"Content-Type": JSON, **(headers or {})})


class FakeDiscord:
    """The fake server; ``async with FakeDiscord() as fake`` starts it on a free loopback port."""

    def __init__(self, *, guild_id: int = 900000000000000001, app_id: int = 800000000000000001) -> None:
        self.guild_id = guild_id
        self.app_id = app_id
        self.bot_user = {"id": str(app_id), "username": "cohortbot", "discriminator": "0", "avatar": None, "bot": True}
        self.role_ids = {"Organizers": 700000000000000001, "Facilitators": 700000000000000002}
        self.channels = {name: 600000000000000001 + n for n, name in enumerate(CHANNEL_NAMES)}
        self.members: dict[int, tuple[str, list[str]]] = {
            GRACE: ("Grace Hopper", ["Organizers"]),
            ALAN: ("Alan Turing", ["Facilitators"]),
            ADA: ("Ada Lovelace", []),
            EMMY: ("Emmy Noether", []),
            STRANGER: ("Someone New", []),
        }
        self.requests: list[Recorded] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.dm_channels: dict[int, int] = {}
        self.callback_deadline = INTERACTION_DEADLINE
        self.sent_at: dict[int, float] = {}  # interaction id -> when interact() sent it (monotonic)
        self.answered_at: dict[int, float] = {}  # interaction id -> when its first callback was accepted
        self.late_callbacks: list[int] = []  # interaction ids whose callback came too late (refused)
        self.posted: list[dict[str, Any]] = []  # channel messages created (a nonce-deduplicated resend adds none)
        self._by_nonce: dict[tuple[int, str], tuple[dict[str, Any], float]] = {}  # -> (message, when)
        self._files: dict[str, bytes] = {}
        self._ids = itertools.count(500000000000000001)
        self.messages: dict[int, dict[str, Any]] = {}  # every message the bot created or edited, by id
        self.scheduled_events: dict[int, dict[str, Any]] = {}  # the server's scheduled events, by id
        self._clicked: dict[int, int] = {}  # component interaction id -> the clicked message's id
        self._clicked_by_token: dict[str, int] = {}  # ... and by the interaction's token
        self._seq = itertools.count(1)
        self._failures: list[_Failure] = []
        self._faults: list[_Fault] = []
        self._outage: tuple[int, bool] | None = None  # (status, drop) while an outage lasts
        self._error_rate: tuple[float, tuple[int, ...], re.Pattern[str], random.Random] | None = None
        self.close_on_identify: int | None = None
        self.nonce_window = 300.0
        self.monotonic: Callable[[], float] = time.monotonic
        self.deduplicated = 0  # posts answered with an earlier message because of their nonce
        self._sockets: list[web.WebSocketResponse] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- life cycle -------------------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeDiscord:
        web_app = web.Application(client_max_size=64 * 1024 * 1024)  # big uploads reach the size check
        web_app.router.add_get("/gateway", self._gateway)
        web_app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """The REST base (``DISCORD_API_URL``)."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway websocket (``DISCORD_GATEWAY_URL``)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def settings(self, **overrides: Any) -> DiscordSettings:
        """Discord settings pointing at this fake."""
        values: dict[str, Any] = {
            "token": SecretStr(TOKEN),
            "guild_id": self.guild_id,
            "api_url": self.api_url,
            "gateway_url": self.gateway_url,
        }
        values.update(overrides)
        return DiscordSettings(_env_file=None, **values)

    def next_id(self) -> int:
        """A fresh snowflake."""
        return next(self._ids)

    def interaction_id(self) -> int:
        """A fresh snowflake that, like Discord's, encodes the moment it was made (``Interaction.created_at``)."""
        return discord.utils.time_snowflake(datetime.now(UTC)) + next(self._ids) % (1 << 22)

    # ---- knobs ------------------------------------------------------------------------------------------------
    def rate_limit(self, n: int = 1, *, retry_after: float = 0.05, path: str | None = None) -> None:
        """Answer the next ``n`` requests (matching the ``path`` regex, if given) with 429 Too Many Requests."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
        headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(retry_after),
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",  # without it discord.py takes a 429 for a Cloudflare ban and does not retry
        }
        self._failures.append(_Failure(429, body, headers, n, re.compile(path) if path else None))

    def fail(self, status: int, *, code: int = 0, message: str = "", n: int = 1, path: str | None = None) -> None:
        """Answer the next ``n`` requests (matching ``path``) with ``status`` and Discord error ``code``."""
        body = {"message": message or f"{status}: fake failure", "code": code}
        self._failures.append(_Failure(status, body, {}, n, re.compile(path) if path else None))

    def drop_after_accept(self, n: int = 1, *, path: str = MESSAGES) -> None:
        """Handle the next ``n`` matching requests, then drop the connection without answering."""
        self._faults.append(_Fault("drop", n, re.compile(path)))

    def answer_late(self, n: int = 1, *, delay: float, path: str = MESSAGES) -> None:
        """Handle the next ``n`` matching requests, and answer only ``delay`` seconds later."""
        self._faults.append(_Fault("late", n, re.compile(path), delay))

    def outage(self, status: int = 503, *, drop: bool = False) -> None:
        """Until :meth:`end_outage`, answer every REST request with ``status`` (or drop it unanswered)."""
        self._outage = (status, drop)

    def end_outage(self) -> None:
        """Discord is back."""
        self._outage = None

    def error_rate(self, p: float, *, statuses: tuple[int, ...] = (503,), path: str = MESSAGES, seed: int = 1) -> None:
        """Answer a random fraction ``p`` of matching requests with one of ``statuses`` (0 turns it off)."""
        self._error_rate = (p, statuses, re.compile(path), random.Random(seed)) if p > 0 else None

    async def close_gateway(self, code: int) -> None:
        """Close every gateway connection with ``code`` (4004: authentication failed; 4000: resumable)."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"fake close")

    def user_duplicates(self) -> int:
        """Extra copies among the created messages of any one nonce (0 when nothing was posted twice)."""
        counts = collections.Counter(m["nonce"] for m in self.posted if m.get("nonce"))
        return sum(n - 1 for n in counts.values())

    # ---- looking at what happened ----------------------------------------------------------------------------
    def find(self, method: str, path: str) -> list[Recorded]:
        """Recorded requests with ``method`` whose path fully matches the regex ``path``."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    async def wait_for(self, method: str, path: str, *, count: int = 1, within: float = 2.0) -> Recorded:
        """Wait until ``count`` matching requests have arrived; return the last of them."""

        async def arrived() -> list[Recorded]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.find(method, path)) >= count)
            return self.find(method, path)

        try:
            found = await asyncio.wait_for(arrived(), within)
        except TimeoutError:
            seen = [f"{r.method} {r.path}" for r in self.requests]
            raise AssertionError(f"no {count}x {method} {path} within {within}s; saw {seen}") from None
        return found[count - 1]

    # ---- interactions ----------------------------------------------------------------------------------------
    def _interaction(self, kind: int, data: dict[str, Any], user_id: int, channel: str | None) -> dict[str, Any]:
        name, roles = self.members.get(user_id, ("Visitor", []))
        user = {"id": str(user_id), "username": name.lower().replace(" ", ""), "discriminator": "0", "avatar": None}
        user["global_name"] = name
        payload: dict[str, Any] = {
            "id": str(self.interaction_id()),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": f"itoken{self.next_id()}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "attachment_size_limit": ATTACHMENT_LIMIT,
        }
        if channel is None:  # a DM with the bot
            dm = self.dm_channels.setdefault(user_id, self.next_id())
            payload.update(user=user, context=1, channel_id=str(dm))
            payload["channel"] = {"id": str(dm), "type": 1, "recipients": [user]}
        else:
            channel_id = self.channels[channel]
            payload.update(guild_id=str(self.guild_id), channel_id=str(channel_id), context=0, guild_locale="en-US")
            payload["channel"] = {"id": str(channel_id), "type": 0, "name": channel, "guild_id": str(self.guild_id)}
            payload["member"] = {
                "user": user,
                "nick": None,
                "roles": [str(self.role_ids[r]) for r in roles],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": "2248473465835073",
            }
        return payload

    def _command_data(self, name: str, options: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.next_id()), "name": name, "type": 1, "guild_id": str(self.guild_id)}
        words = name.split(" ")
        if len(words) == 2:
            data["name"] = words[0]
            options = [{"type": 1, "name": words[1], "options": options}]
        data["options"] = options
        return data

    def _option_type(self, command: str, option: str) -> int:
        for top in self.commands.get(str(self.guild_id), []):
            for entry in [top, *top.get("options", [])]:
                full = entry["name"] if entry is top else f"{top['name']} {entry['name']}"
                if full == command:
                    for o in entry.get("options", []):
                        if o["name"] == option:
                            return o["type"]
        raise KeyError(f"/{command} has no synced option {option!r}")

    def command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int = ADA,
        channel: str | None = "general",
        attachments: dict[str, tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """A slash-command interaction (type 2) for ``/name`` with ``options`` (types taken from the sync).

        ``attachments`` maps an option name to ``(filename, content)``; the fake serves the bytes.
        ``channel=None`` makes it a DM.
        """
        opts = [{"name": k, "type": self._option_type(name, k), "value": v} for k, v in (options or {}).items()]
        resolved: dict[str, Any] = {}
        for option, (filename, content) in (attachments or {}).items():
            attachment_id = str(self.next_id())
            self._files[attachment_id] = content
            resolved[attachment_id] = {
                "id": attachment_id,
                "filename": filename,
                "size": len(content),
                "url": f"http://127.0.0.1:{self.port}/api/v10/_files/{attachment_id}",
                "proxy_url": f"http://127.0.0.1:{self.port}/api/v10/_files/{attachment_id}",
                "content_type": "application/octet-stream",
            }
            opts.append({"name": option, "type": 11, "value": attachment_id})
        data = self._command_data(name, opts)
        if resolved:
            data["resolved"] = {"attachments": resolved}
        return self._interaction(2, data, user_id, channel)

    def autocomplete(
        self, name: str, option: str, current: str, *, user_id: int = ADA, channel: str | None = "general"
    ) -> dict[str, Any]:
        """An autocomplete interaction (type 4) for ``option`` of ``/name`` with ``current`` typed so far."""
        focused = {"name": option, "type": self._option_type(name, option), "value": current, "focused": True}
        return self._interaction(4, self._command_data(name, [focused]), user_id, channel)

    def modal_submit(
        self, custom_id: str, values: dict[str, str], *, user_id: int = ADA, channel: str | None = "general"
    ) -> dict[str, Any]:
        """A modal submission (type 5) for the modal ``custom_id`` with text-input ``values`` (by custom id)."""
        components = [
            {"type": 18, "id": n + 1, "component": {"type": 4, "id": n + 100, "custom_id": k, "value": v}}
            for n, (k, v) in enumerate(values.items())
        ]
        return self._interaction(5, {"custom_id": custom_id, "components": components}, user_id, channel)

    def click(
        self,
        message: dict[str, Any],
        label: str | None = None,
        *,
        values: list[str] | None = None,
        user_id: int = ADA,
        channel: str | None = "general",
    ) -> dict[str, Any]:
        """A component interaction (type 3): ``user_id`` clicks the button labelled ``label`` on ``message`` (a
        message the bot sent, as recorded in ``fake.messages``), or picks ``values`` in its select (``label``:
        the select's placeholder, or ``None`` for the only select)."""
        component = _find_component(message, label, select=values is not None)
        data: dict[str, Any] = {"custom_id": component["custom_id"], "component_type": component["type"]}
        if values is not None:
            data["values"] = values
            if component["type"] == 5:  # a user select: Discord resolves the chosen users
                users = {v: {"id": v, "username": f"user{v}", "discriminator": "0", "avatar": None} for v in values}
                data["resolved"] = {"users": users}
        payload = self._interaction(3, data, user_id, channel)
        payload["message"] = message
        self._clicked[int(payload["id"])] = int(message["id"])
        self._clicked_by_token[payload["token"]] = int(message["id"])
        return payload

    def last_message(self, *, with_components: bool = True) -> dict[str, Any]:
        """The newest message the bot created (with components, by default)."""
        for message in reversed(self.messages.values()):
            if message["components"] or not with_components:
                return message
        raise AssertionError("the bot has sent no message with components")

    async def interact(self, payload: dict[str, Any]) -> None:
        """Send an INTERACTION_CREATE down every connected gateway socket; its 3 seconds start now."""
        self.sent_at[int(payload["id"])] = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send any gateway dispatch event."""
        if not self._sockets:
            raise AssertionError("no bot is connected to the fake gateway")
        for ws in self._sockets:
            await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    # ---- gateway ----------------------------------------------------------------------------------------------
    def guild_payload(self) -> dict[str, Any]:
        """The GUILD_CREATE guild: channels, roles and members."""
        gid = str(self.guild_id)
        roles = self._roles_payload()
        channels = [
            {"id": str(i), "type": 0, "name": n, "position": p, "permission_overwrites": [], "guild_id": gid}
            for p, (n, i) in enumerate(self.channels.items())
        ]
        members = [self._member_payload(uid) for uid in self.members]
        members.append({"user": self.bot_user, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "flags": 0})
        return {
            "id": gid,
            "name": "ML Safety Cohort",
            "icon": None,
            "owner_id": str(GRACE),
            "unavailable": False,
            "large": False,
            "member_count": len(members),
            "roles": roles,
            "channels": channels,
            "members": members,
            "threads": [],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": list(self.scheduled_events.values()),
            "soundboard_sounds": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "preferred_locale": "en-US",
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                self.gateway_received.append(message)
                op = message.get("op")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 6:  # RESUME after a resumable close: replay nothing, say it is resumed
                    await ws.send_json({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}})
                elif op == 2 and self.close_on_identify is not None:
                    await ws.close(code=self.close_on_identify, message=b"fake close")
                elif op == 2:
                    await ws.send_json(
                        {"op": 0, "t": "READY", "s": next(self._seq), "d": self._ready()},
                    )
                    await ws.send_json(
                        {"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": self.guild_payload()},
                    )
        finally:
            self._sockets.remove(ws)
        return ws

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
        }

    # ---- REST -------------------------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> Recorded:
        path = "/" + request.match_info["tail"]
        record = Recorded(request.method, path, dict(request.query), headers=dict(request.headers))
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename:  # type: ignore[union-attr]
                    record.files.append((part.filename, await part.read()))  # type: ignore[union-attr]
                else:
                    record.form[part.name or ""] = await part.text()  # type: ignore[union-attr]
        elif request.can_read_body:
            raw = await request.read()
            record.json = json.loads(raw) if raw else None
        return record

    def _take_failure(self, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.remaining > 0 and (failure.path is None or failure.path.search(path)):
                failure.remaining -= 1
                return failure
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request)
        if record.path.startswith("/_files/"):
            return web.Response(body=self._files.get(record.path.rsplit("/", 1)[-1], b""))
        self.requests.append(record)
        async with self._arrived:
            self._arrived.notify_all()
        if self._outage is not None:
            status, drop = self._outage
            if drop:
                return self._drop(request)
            return _respond({"message": f"{status}: fake outage", "code": 0}, status)
        failure = self._take_failure(record.path)
        if failure is not None:
            return _respond(failure.body, failure.status, failure.headers)
        if any(len(content) > ATTACHMENT_LIMIT for _, content in record.files):
            return _respond({"message": "Request entity too large", "code": 40005}, 413)
        if self._error_rate is not None:
            p, statuses, pattern, rng = self._error_rate
            if pattern.search(record.path) and rng.random() < p:
                status = rng.choice(statuses)
                return _respond({"message": f"{status}: fake server error", "code": 0}, status)
        response = self._route(record)
        fault = self._take_fault(record.path)
        if fault is not None and fault.kind == "drop":
            return self._drop(request)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        return response

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.path.search(path):
                fault.remaining -= 1
                return fault
        return None

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without an answer (the client sees it disconnect)."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def member_roles(self, user_id: int) -> set[str]:
        """The names of the server roles ``user_id`` holds now."""
        return set(self.members[user_id][1])

    def add_member(self, user_id: int, name: str, roles: list[str] | None = None) -> None:
        """Someone joins the server."""
        self.members[user_id] = (name, list(roles or []))

    def _member_payload(self, user_id: int) -> dict[str, Any]:
        name, roles = self.members[user_id]
        user = {"id": str(user_id), "username": name.lower().replace(" ", ""), "discriminator": "0", "avatar": None}
        return {
            "user": user,
            "nick": None,
            "roles": [str(self.role_ids[n]) for n in roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }

    def _roles_payload(self) -> list[dict[str, Any]]:
        base = {"permissions": "0", "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        roles = [{"id": str(self.guild_id), "name": "@everyone", "position": 0, **base}]
        for position, (name, role_id) in enumerate(self.role_ids.items(), start=1):
            roles.append({"id": str(role_id), "name": name, "position": position, **base})
        return roles

    def _guild_route(self, r: Recorded) -> web.Response | None:
        """Members and roles of the server (``None`` if ``r`` is not such a request)."""
        gid = str(self.guild_id)
        if r.path == f"/guilds/{gid}/roles":
            if r.method == "POST":
                name = str((r.json or {}).get("name") or "new role")
                self.role_ids[name] = self.next_id()
                return _respond(next(x for x in self._roles_payload() if x["name"] == name))
            return _respond(self._roles_payload())
        match = re.fullmatch(rf"/guilds/{gid}/members/(\d+)(?:/roles/(\d+))?", r.path)
        if match is None:
            return None
        user_id = int(match.group(1))
        if user_id not in self.members:
            return _respond({"message": "Unknown Member", "code": 10007}, 404)
        if match.group(2) is None:
            return _respond(self._member_payload(user_id)) if r.method == "GET" else None
        names = {i: n for n, i in self.role_ids.items()}
        role = names.get(int(match.group(2)))
        if role is None:
            return _respond({"message": "Unknown Role", "code": 10011}, 404)
        held = self.members[user_id][1]
        if r.method == "PUT" and role not in held:
            held.append(role)
        elif r.method == "DELETE" and role in held:
            held.remove(role)
        return web.Response(status=204)

    def _route(self, r: Recorded) -> web.Response:
        m = r.method
        p = r.path
        if p.startswith("/guilds/") and (answer := self._guild_route(r)) is not None:
            return answer
        if m == "GET" and p == "/users/@me":
            return _respond(self.bot_user)
        if m == "GET" and p == "/oauth2/applications/@me":
            return _respond(self.application_payload())
        if m == "GET" and p in ("/gateway", "/gateway/bot"):
            return _respond({"url": self.gateway_url, "shards": 1})
        if match := re.fullmatch(r"/applications/(\d+)/(?:guilds/(\d+)/)?commands", p):
            scope = match.group(2) or "global"
            if m == "PUT":
                self.commands[scope] = [self._echo_command(c, match.group(2)) for c in r.json or []]
            return _respond(self.commands.get(scope, []))
        body = r.payload() if m in ("POST", "PATCH") and isinstance(r.payload(), dict) else {}
        if problem := _components_problem(body.get("data") if "/callback" in p else body):
            return _respond({"message": f"Invalid Form Body: {problem}", "code": 50035}, 400)
        if m == "POST" and (match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", p)):
            interaction_id = int(match.group(1))
            refused = self._refuse_callback(interaction_id)
            if refused is not None:
                return refused
            return _respond(self._callback(r, interaction_id))
        if match := re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/(@original|\d+))?", p):
            edited = match.group(3)
            if edited == "@original" and match.group(2) in self._clicked_by_token:  # after a deferred update
                edited = str(self._clicked_by_token[match.group(2)])
            if m == "PATCH" and edited and edited.isdigit() and int(edited) in self.messages:
                return _respond(self._edit(int(edited), r.payload() or {}))
            return _respond(self._message(self.channels["general"], r.payload() or {}))
        if m == "POST" and (match := re.fullmatch(r"/channels/(\d+)/messages", p)):
            channel_id = int(match.group(1))
            if channel_id not in set(self.channels.values()) | set(self.dm_channels.values()):
                return _respond({"message": "Unknown Channel", "code": 10003}, 404)
            return _respond(self._post_message(channel_id, r.payload() or {}))
        if match := re.fullmatch(r"/guilds/(\d+)/scheduled-events(?:/(\d+))?", p):
            return self._scheduled_event(r, int(match.group(2)) if match.group(2) else None)
        if m == "POST" and p == "/users/@me/channels":
            user_id = int(r.json["recipient_id"])
            channel_id = self.dm_channels.setdefault(user_id, self.next_id())
            name = self.members.get(user_id, ("someone", []))[0]
            recipient = {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None}
            return _respond({"id": str(channel_id), "type": 1, "recipients": [recipient], "last_message_id": None})
        return _respond({"message": "404: Not Found", "code": 0}, 404)

    def _scheduled_event(self, r: Recorded, event_id: int | None) -> web.Response:
        """The guild scheduled-event endpoints, with Discord's checks on what an event may be."""
        live = (1, 2)  # SCHEDULED, ACTIVE
        if event_id is None:
            if r.method == "GET":
                return _respond([e for e in self.scheduled_events.values() if e["status"] in live])
            if r.method != "POST":
                return _respond({"message": "405: Method Not Allowed", "code": 0}, 405)
            body = r.json or {}
            problem = _event_problem(body)
            if problem:
                return _respond({"message": f"Invalid Form Body: {problem}", "code": 50035}, 400)
            new_id = self.next_id()
            event = {
                "id": str(new_id),
                "guild_id": str(self.guild_id),
                "channel_id": body.get("channel_id"),
                "creator_id": str(self.app_id),
                "creator": self.bot_user,
                "name": body["name"],
                "description": body.get("description"),
                "scheduled_start_time": body["scheduled_start_time"],
                "scheduled_end_time": body.get("scheduled_end_time"),
                "privacy_level": body.get("privacy_level", 2),
                "status": 1,
                "entity_type": body["entity_type"],
                "entity_id": None,
                "entity_metadata": body.get("entity_metadata"),
                "user_count": 0,
                "image": None,
            }
            self.scheduled_events[new_id] = event
            return _respond(event)
        event = self.scheduled_events.get(event_id)
        if event is None:
            return _respond({"message": "Unknown Guild Scheduled Event", "code": 10070}, 404)
        if r.method == "GET":
            return _respond(event)
        if r.method == "DELETE":
            del self.scheduled_events[event_id]
            return web.Response(status=204)
        if r.method != "PATCH":
            return _respond({"message": "405: Method Not Allowed", "code": 0}, 405)
        if event["status"] not in live:
            return _respond({"message": "Cannot modify a finished or canceled event", "code": 180000}, 400)
        body = r.json or {}
        status = body.get("status", event["status"])
        if status not in {event["status"], *({1: (2, 4), 2: (3,)}[event["status"]])}:
            return _respond({"message": f"Invalid status change {event['status']} -> {status}", "code": 50035}, 400)
        merged = {**event, **{k: v for k, v in body.items() if k in EVENT_FIELDS}}
        problem = _event_problem(merged)
        if problem:
            return _respond({"message": f"Invalid Form Body: {problem}", "code": 50035}, 400)
        event.update(merged)
        return _respond(event)

    def application_payload(self) -> dict[str, Any]:
        """The bot's application (fetched by discord.py at login)."""
        owner = {"id": str(GRACE), "username": "gracehopper", "discriminator": "0", "avatar": None}
        return {
            "id": str(self.app_id),
            "name": "cohortbot",
            "icon": None,
            "description": "A fake application",
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": owner,
            "verify_key": "00" * 32,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    def _echo_command(self, command: dict[str, Any], guild_id: str | None) -> dict[str, Any]:
        out = {**command, "id": str(self.next_id()), "application_id": str(self.app_id), "version": "1"}
        if guild_id:
            out["guild_id"] = guild_id
        out.setdefault("default_member_permissions", None)
        return out

    def _refuse_callback(self, interaction_id: int) -> web.Response | None:
        """Discord's answer to a callback that comes too late or twice (``None``: accepted)."""
        now = time.monotonic()
        if interaction_id in self.answered_at:
            body = {"message": "Interaction has already been acknowledged.", "code": 40060}
            return _respond(body, 400)
        sent = self.sent_at.get(interaction_id)
        if sent is not None and now - sent > self.callback_deadline:
            self.late_callbacks.append(interaction_id)
            return _respond({"message": "Unknown interaction", "code": 10062}, 404)
        self.answered_at[interaction_id] = now
        return None

    def _callback(self, r: Recorded, interaction_id: int) -> dict[str, Any]:
        body = r.payload() or {}
        kind = body.get("type")
        data = body.get("data") or {}
        ephemeral = bool((data.get("flags") or 0) & 64)
        interaction = {
            "id": str(interaction_id),
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": ephemeral,
        }
        response: dict[str, Any] = {"interaction": interaction, "resource": {"type": kind}}
        if kind == 7 and self._clicked.get(interaction_id) in self.messages:  # UPDATE_MESSAGE: edit the clicked one
            message = self._edit(self._clicked[interaction_id], data)
            interaction["response_message_id"] = message["id"]
            response["resource"]["message"] = message
        elif kind in (4, 5, 7):
            message = self._message(self.channels["general"], data)
            interaction["response_message_id"] = message["id"]
            response["resource"]["message"] = message
        return response

    def _post_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Create a channel message; with ``enforce_nonce``, a nonce already used in the channel within
        ``nonce_window`` seconds returns the message it created instead of a new one, as Discord does."""
        key = (channel_id, str(body.get("nonce")))
        now = self.monotonic()
        enforced = body.get("enforce_nonce") and body.get("nonce") is not None
        if enforced and key in self._by_nonce and now - self._by_nonce[key][1] <= self.nonce_window:
            self.deduplicated += 1
            return self._by_nonce[key][0]
        message = self._message(channel_id, body)
        self.posted.append(message)
        if enforced:
            self._by_nonce[key] = (message, now)
        return message

    def _edit(self, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        message["edited_timestamp"] = "2026-01-05T08:00:01+00:00"
        return message

    def _message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message_id = self.next_id()
        self.messages[message_id] = message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": body.get("content") or "",
            "author": self.bot_user,
            "embeds": body.get("embeds") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-01-05T08:00:00+00:00",
            "edited_timestamp": None,
            "flags": body.get("flags") or 0,
            "nonce": body.get("nonce"),
            "components": body.get("components") or [],
        }
        return message


EVENT_FIELDS = (
    "channel_id",
    "entity_metadata",
    "name",
    "privacy_level",
    "scheduled_start_time",
    "scheduled_end_time",
    "description",
    "entity_type",
    "status",
)


def _components_problem(body: Any) -> str | None:
    """What Discord refuses in a message's components: a custom_id over 100 characters, a select over 25
    options (``None`` if nothing)."""
    rows = body.get("components") if isinstance(body, dict) else None
    for row in rows or []:
        for component in row.get("components") or []:
            if len(str(component.get("custom_id", ""))) > 100:
                return "components.custom_id: Must be 100 or fewer in length."
            if len(component.get("options") or []) > 25:
                return "components.options: Must be 25 or fewer in length."
    return None


def _event_problem(body: dict[str, Any]) -> str | None:
    """Why Discord would refuse this scheduled event, if it would."""
    if not body.get("name") or not body.get("scheduled_start_time") or body.get("entity_type") not in (1, 2, 3):
        return "name, scheduled_start_time and entity_type are required"
    if body.get("privacy_level", 2) != 2:
        return "privacy_level must be GUILD_ONLY (2)"
    if body["entity_type"] == 3:
        location = (body.get("entity_metadata") or {}).get("location")
        if not location or len(location) > 100:
            return "an external event needs entity_metadata.location (1-100 characters)"
        if not body.get("scheduled_end_time"):
            return "an external event needs scheduled_end_time"
    end = body.get("scheduled_end_time")
    if end and datetime.fromisoformat(end) <= datetime.fromisoformat(body["scheduled_start_time"]):
        return "scheduled_end_time must be after scheduled_start_time"
    if len(body["name"]) > 100 or len(body.get("description") or "") > 1000:
        return "name (100) or description (1000) too long"
    return None


def _find_component(message: dict[str, Any], label: str | None, *, select: bool) -> dict[str, Any]:
    """The button labelled ``label`` (or the select with that placeholder, or the only select) of ``message``."""
    found = []
    for row in message.get("components") or []:
        for component in row.get("components") or []:
            is_select = component["type"] in (3, 5, 6, 7, 8)
            if select != is_select:
                continue
            name = component.get("placeholder") if is_select else component.get("label")
            if label is None or name == label:
                found.append(component)
    if len(found) != 1:
        kind = "select" if select else "button"
        raise AssertionError(f"expected one {kind} {label!r} on the message, found {len(found)}: {message}")
    return found[0]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A fresh fake Discord on a free loopback port."""
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def discord_platform(app: CohortBot, fake_discord: FakeDiscord) -> AsyncIterator[DiscordPlatform]:
    """The real adapter for the ``app`` fixture, started against ``fake_discord`` (stopped afterwards)."""
    platform = await started_discord(app, fake_discord)
    yield platform
    await platform.stop()


async def started_discord(app: CohortBot, fake: FakeDiscord, **settings: Any) -> DiscordPlatform:
    """A :class:`DiscordPlatform` for ``app``, started against ``fake`` (remember ``await platform.stop()``)."""
    from bot.platforms.discord import DiscordPlatform

    platform = DiscordPlatform(app, fake.settings(**settings), guild_ready_timeout=0.05)
    await platform.start()
    return platform
