"""A small fake Slack Web API on aiohttp, recording every call, for tests over real loopback sockets.

How other tests use it::

    from tests.fakes.slack_api import FakeSlackAPI, running_slack, slash

    async def test_something(app):                       # `app` from tests/plugin.py
        async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
            result = await slash(slack, fake, "/readings", "2", user="U0SCH000001")
            assert result.status == 200                  # the immediate ack
            assert "Week 2" in result.text               # what came back through the response_url
            fake.calls_to("chat.postMessage")            # every recorded Web API call: Call(method, body, ...)

* :class:`FakeSlackAPI` answers ``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``views.open``,
  ``conversations.open``, ``conversations.list`` (channels in ``fake.channels``, name -> id, paged by
  ``fake.page_size``), ``conversations.history`` (the successful ``chat.postMessage`` calls to that
  conversation, newest first, with ``metadata`` if ``include_all_metadata``; a user id, the ``D…`` id
  ``conversations.open`` returns for them and a post to the user id are one conversation), the files v2
  upload flow, ``apps.connections.open`` (Socket Mode: a ``ws://`` URL served here; see
  :meth:`FakeSlackAPI.send_envelope`), ``users.list`` (the workspace's members: ``fake.users`` and the ids in
  ``fake.workspace``, the example roster's Slack ids by default, with an email ``<id>@members.example``; paged
  by ``limit``; ``fake.emails_visible = False`` leaves the emails out, as Slack does without the
  ``users:read.email`` scope), and ``response_url`` posts (``fake.response_url(id)``).
* Knobs: ``fake.rate_limit("chat.postMessage", times=2, retry_after=1)`` makes the next 2 calls answer HTTP 429
  with ``Retry-After: 1`` and ``{"ok": false, "error": "ratelimited"}``; ``fake.limit_rate("chat.postMessage",
  per_second=1.0)`` answers 429 (with the seconds to wait) beyond that many calls in any rolling second;
  ``fake.fail("chat.postMessage", "channel_not_found", times=1)`` makes calls fail with that Slack error;
  ``fake.refused["U0SCH000001"] = "cannot_dm_bot"`` makes every ``chat.postMessage`` to that channel or user fail
  with that error.
  ``limit_rate(..., per_channel=1.0)`` also limits each channel (Slack: about 1 post a second per channel).
* Fault knobs: ``fake.drop_after_accept("chat.postMessage", times=1)`` posts the message and then drops the
  connection without an answer; ``fake.answer_late("chat.postMessage", delay, times=1)`` posts it and answers
  ``delay`` seconds later (after the client's timeout); ``fake.outage(status=503)`` answers every Web API call
  with ``status`` and ``service_unavailable`` (or, with ``drop=True``, closes the connection unanswered) until
  ``fake.end_outage()``; ``fake.error_rate("chat.postMessage", p)`` answers a random fraction ``p`` of the calls
  with a 5xx (seeded).
* What users see: ``fake.posted_keys()`` counts the messages in ``fake.history`` by outbox key (the
  ``cohortbot_outbox`` metadata); ``fake.user_duplicates()`` is the number of extra copies.
* Members for linking by email: ``fake.add_user(user_id, email, name)`` (``fake.users``: id -> Slack user
  object); ``users.list`` lists them, ``users.lookupByEmail`` finds them by email (else ``users_not_found``),
  ``users.info`` by id (else ``user_not_found``). ``conversations.invite`` records channel members in
  ``fake.members`` (channel id -> user ids; ``already_in_channel`` for a second invite), ``conversations.join``
  answers ok. Rate-limit them with
  ``fake.rate_limit("users.lookupByEmail", times=1, retry_after=1)`` like any method.
* :func:`send_event` posts a signed Events API callback (``team_join_event(user)`` builds a ``team_join``).
* The ``slack_api`` fixture (available to every test through tests/plugin.py) is a running fake.
* :func:`running_slack` starts a :class:`SlackPlatform` on 127.0.0.1:0 against the fake (``socket_mode=True``
  for Socket Mode); :func:`slash` sends a signed slash command and waits for the ``response_url`` post;
  :func:`interact` posts a signed interactivity payload (``view_submission`` ...); :func:`signed_headers` signs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot.platforms.slack.settings import SlackSettings
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.platforms.slack import SlackPlatform

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
DEFAULT_CHANNELS = {
    "intro-course": "C0INTRO0001",
    "advanced-course": "C0ADVAN0001",
    "section-americas": "C0SECAM0001",
    "section-europe": "C0SECEU0001",
    "section-apac": "C0SECAP0001",
    "help": "C0HELP00001",
    "general": "C0GENER0001",
}
# The Slack member ids of config/example-roster.csv: the workspace's members.
DEFAULT_USERS = ("U0ORG000001", "U0FAC000001", "U0FAC000002", "U0FAC000003", "U0SCH000001", "U0SCH000003",
                 "U0SCH000004", "U0SCH000005", "U0SCH000006", "U0SCH000008")  # fmt: skip


@dataclass
class Call:
    """One recorded request: the Web API ``method`` (or ``response`` / ``upload``), its body, and our answer."""

    method: str
    body: dict[str, Any]
    status: int = 200
    target: str = ""  # the id in /response/<id> or /upload/<id>
    raw: bytes = b""
    peer: str = ""  # the client's address and port: one per connection (keep-alive reuses it)
    at: float = field(default_factory=time.monotonic)  # when it arrived (monotonic seconds)

    def json(self, key: str) -> Any:
        """A body value that Slack sends JSON-encoded in forms (``blocks``, ``view``, ``files``) or as JSON."""
        value = self.body.get(key)
        return json.loads(value) if isinstance(value, str) else value

    @property
    def ok(self) -> bool:
        """Whether the fake answered with success."""
        return self.status == 200


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: float | None = None
    kind: str = "fail"  # or "drop" (posted, then the connection is closed unanswered), "late" (answered late)
    delay: float = 0.0


@dataclass
class FakeSlackAPI:
    """The fake Web API; start it with :meth:`running`. ``api_url`` is what ``SLACK_API_URL`` should be."""

    channels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    page_size: int = 100
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _rates: dict[str, tuple[float, Any]] = field(default_factory=dict)  # method -> (per second, recent calls)
    _channel_rates: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _faults: dict[str, list[_Failure]] = field(default_factory=dict)  # method -> drop / late, in order
    _outage: tuple[int, bool] | None = None
    _error_rates: dict[str, tuple[float, tuple[int, ...], random.Random]] = field(default_factory=dict)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _acks: dict[str, dict] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel id -> messages, oldest first
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> Slack user object
    members: dict[str, set[str]] = field(default_factory=dict)  # channel id -> user ids invited
    # users.list lists fake.users and these ids (the example roster's by default): the workspace's members
    workspace: set[str] = field(default_factory=lambda: set(DEFAULT_USERS))
    refused: dict[str, str] = field(default_factory=dict)  # channel or user id -> Slack error for chat.postMessage
    # users.list shows each member's profile email only with the users:read.email scope: False plays its absence
    emails_visible: bool = True

    # --- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, **kwargs: Any) -> AsyncIterator[FakeSlackAPI]:
        """Serve a fake on 127.0.0.1 (a free port) for the duration of the ``async with``."""
        fake = cls(**kwargs)
        web_app = web.Application(client_max_size=256 * 1024 * 1024)  # file uploads (Slack takes up to 1 GB)
        web_app.router.add_route("*", "/api/{method}", fake._api)
        web_app.router.add_post("/response/{id}", fake._response)
        web_app.router.add_post("/upload/{id}", fake._upload)
        web_app.router.add_get("/socket", fake._socket)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake.port = runner.addresses[0][1]
        try:
            yield fake
        finally:
            for ws in list(fake._sockets):
                await ws.close()
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base, for ``SlackSettings(api_url=...)``."""
        return f"{self.base_url}/api/"

    def response_url(self, ident: str) -> str:
        """A ``response_url`` that records what is posted to it."""
        return f"{self.base_url}/response/{ident}"

    # --- knobs -----------------------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: float = 1) -> None:
        """The next ``times`` calls to ``method`` answer HTTP 429 with ``Retry-After``."""
        self._failures.setdefault(method, []).extend(_Failure(429, "ratelimited", retry_after) for _ in range(times))

    def limit_rate(self, method: str, per_second: float, *, per_channel: float | None = None) -> None:
        """More than ``per_second`` calls to ``method`` in any rolling second (for rates below 1/s: more than one
        call in any 1/rate seconds) answer 429 with ``Retry-After`` (whole seconds, rounded up, as Slack sends it).
        With ``per_channel``, each channel (its ``channel`` argument) has that limit too."""
        self._rates[method] = (per_second, collections.deque())
        if per_channel is not None:
            self._channel_rates[method] = (per_channel, {})

    def drop_after_accept(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` are handled (a post is made), then the connection is dropped."""
        self._faults.setdefault(method, []).extend(_Failure(200, "", kind="drop") for _ in range(times))

    def answer_late(self, method: str, delay: float, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` are handled at once and answered ``delay`` seconds later."""
        self._faults.setdefault(method, []).extend(_Failure(200, "", kind="late", delay=delay) for _ in range(times))

    def outage(self, status: int = 503, *, drop: bool = False) -> None:
        """Until :meth:`end_outage`, every Web API call fails with ``status`` (or is dropped unanswered)."""
        self._outage = (status, drop)

    def end_outage(self) -> None:
        """Slack is back."""
        self._outage = None

    def error_rate(self, method: str, p: float, *, statuses: tuple[int, ...] = (503,), seed: int = 1) -> None:
        """A random fraction ``p`` of the calls to ``method`` fail with one of ``statuses`` (0 turns it off)."""
        if p > 0:
            self._error_rates[method] = (p, statuses, random.Random(seed))
        else:
            self._error_rates.pop(method, None)

    def posted_keys(self) -> collections.Counter[str]:
        """How many messages each outbox key has in the conversations' history (what users see)."""
        return collections.Counter(
            str(payload.get("key"))
            for messages in self.history.values()
            for m in messages
            if (payload := (m.get("metadata") or {}).get("event_payload") or {}).get("key") is not None
        )

    def user_duplicates(self) -> int:
        """Extra copies of any one outbox key among the posted messages (0 when nothing was posted twice)."""
        return sum(n - 1 for n in self.posted_keys().values())

    def fail(self, method: str, error: str, times: int = 1, status: int = 200) -> None:
        """The next ``times`` calls to ``method`` fail with the Slack ``error`` (HTTP ``status``)."""
        self._failures.setdefault(method, []).extend(_Failure(status, error) for _ in range(times))

    def add_user(self, user_id: str, email: str, name: str = "", **extra: Any) -> dict[str, Any]:
        """A member of the workspace (as ``users.info`` shows them); ``extra`` e.g. ``deleted=True``."""
        user = {
            "id": user_id,
            "team_id": "T0FAKE",
            "name": (name or user_id).lower().replace(" ", "."),
            "real_name": name,
            "deleted": False,
            "is_bot": False,
            "profile": {"email": email, "real_name": name, "display_name": name},
            **extra,
        }
        self.users[user_id] = user
        return user

    # --- reading what happened -------------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        """Recorded calls to ``method`` (only successful ones with ``ok=True``, failed with ``ok=False``)."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    async def wait_for(
        self, method: str, count: int = 1, within: float = 3.0, where: Callable[[Call], bool] | None = None
    ) -> list[Call]:
        """Poll until ``count`` calls to ``method`` (matching ``where``) arrived; AssertionError after ``within`` s."""
        deadline = time.monotonic() + within
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} call(s) to {method}, got {len(found)}; calls: {seen}")
            await asyncio.sleep(0.01)

    async def response(self, ident: str, within: float = 3.0) -> dict:
        """The JSON posted to ``response_url(ident)`` (waits for it)."""
        calls = await self.wait_for("response", 1, within, where=lambda c: c.target == ident)
        return calls[0].body

    # --- Socket Mode -----------------------------------------------------------------------------------

    async def send_envelope(self, kind: str, payload: dict, within: float = 3.0) -> dict:
        """Send a Socket Mode envelope (``slash_commands``, ``interactive``, ...) and return the client's ack."""
        deadline = time.monotonic() + within
        while not self._sockets:
            if time.monotonic() > deadline:
                raise AssertionError("no Socket Mode client connected")
            await asyncio.sleep(0.01)
        envelope_id = f"env-{next(self._ts)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        await self._sockets[-1].send_str(json.dumps(envelope))
        while envelope_id not in self._acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}")
            await asyncio.sleep(0.01)
        return self._acks[envelope_id]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.calls.append(Call("socket.connect", dict(request.query)))
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0F"}}))
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        self._acks[data["envelope_id"]] = data
        finally:
            self._sockets.remove(ws)
        return ws

    # --- HTTP handlers ---------------------------------------------------------------------------------

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        raw = await request.read()
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and raw:
            body.update(json.loads(raw))
        elif request.content_type == "application/x-www-form-urlencoded":
            body.update((await request.post()).items())
        elif request.content_type.startswith("multipart/"):
            body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return body, raw

    def _failure(self, method: str, body: dict[str, Any]) -> _Failure | None:
        if self._outage is not None:
            status, drop = self._outage
            return _Failure(status, "service_unavailable", kind="drop" if drop else "fail")
        queued = self._failures.get(method)
        if queued:
            return queued.pop(0)
        if method in self._error_rates:
            p, statuses, rng = self._error_rates[method]
            if rng.random() < p:
                return _Failure(rng.choice(statuses), "service_unavailable")
        if method in self._rates:
            now = time.monotonic()
            per_second, window = self._rates[method]
            wait = _over_limit(window, per_second, now)
            if wait is None and method in self._channel_rates:
                per_channel, windows = self._channel_rates[method]
                channel = self._channel(str(body.get("channel", ""))) or ""
                channel_window = windows.setdefault(channel, collections.deque())
                wait = _over_limit(channel_window, per_channel, now)
                if wait is None:
                    channel_window.append(now)
            if wait is not None:
                return _Failure(429, "ratelimited", max(1, math.ceil(wait)))
            window.append(now)
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body, raw = await self._read(request)
        call = Call(method, body, raw=raw, peer=_peer(request))
        self.calls.append(call)
        if _blocks_problem(call.json("blocks")):
            call.status = 400
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        failure = self._failure(method, body)
        if failure is not None and failure.kind == "drop":  # an outage that drops connections
            call.status = 0
            return _drop(request)
        if failure is not None:
            call.status = failure.status
            headers = {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else {}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        answer = self._answer(method, body)
        if not answer.get("ok"):
            call.status = 400
        faults = self._faults.get(method)
        fault = faults.pop(0) if faults else None
        if fault is not None and fault.kind == "drop":
            return _drop(request)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        return web.json_response(answer)

    def _channel(self, channel: str) -> str | None:
        """The channel id a post to ``channel`` lands in, or None if there is no such channel."""
        if channel in self.channels.values():
            return channel
        if channel.startswith(("U", "W")):
            return "D" + channel[1:]
        if channel.startswith("D"):
            return channel
        return self.channels.get(channel.lstrip("#"))

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"  # real seconds, like Slack's (history's `oldest`)
        match method:
            case "auth.test":
                return {"ok": True, "team": "Fake", "team_id": "T0FAKE", "user": "cohortbot", "user_id": "U0BOT",
                        "bot_id": "B0BOT", "url": "https://fake.slack.com/"}  # fmt: skip
            case "chat.postMessage" | "chat.postEphemeral":
                channel = self._channel(str(body.get("channel", "")))
                if channel is None:
                    return {"ok": False, "error": "channel_not_found"}
                if method == "chat.postMessage" and str(body.get("channel", "")) in self.refused:
                    return {"ok": False, "error": self.refused[str(body.get("channel", ""))]}
                if method == "chat.postMessage":
                    metadata = body.get("metadata")
                    message = {"type": "message", "ts": ts, "text": body.get("text", ""), "bot_id": "B0BOT"}
                    if metadata:
                        message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
                    self.history.setdefault(channel, []).append(message)
                return {"ok": True, "channel": channel, "ts": ts, "message_ts": ts}
            case "conversations.history":
                channel = self._channel(str(body.get("channel", "")))
                if channel is None:
                    return {"ok": False, "error": "channel_not_found"}
                oldest = float(body.get("oldest") or 0)
                with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
                found = [
                    m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
                    for m in reversed(self.history.get(channel, []))
                    if float(m["ts"]) > oldest
                ]
                start, limit = int(body.get("cursor") or 0), int(body.get("limit") or 100)
                more = start + limit < len(found)
                cursor = str(start + limit) if more else ""
                return {"ok": True, "messages": found[start : start + limit], "has_more": more,
                        "response_metadata": {"next_cursor": cursor}}  # fmt: skip
            case "views.open":
                if not body.get("trigger_id"):
                    return {"ok": False, "error": "invalid_trigger_id"}
                return {"ok": True, "view": {"id": f"V{ts[-6:]}", **(body.get("view") or {})}}
            case "conversations.open":
                return {"ok": True, "channel": {"id": "D" + str(body.get("users", "X")).split(",")[0][1:]}}
            case "conversations.list":
                items = [{"id": i, "name": n, "is_archived": False} for n, i in self.channels.items()]
                start = int(body.get("cursor") or 0)
                page = items[start : start + self.page_size]
                more = start + self.page_size < len(items)
                cursor = str(start + self.page_size) if more else ""
                return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}
            case "files.getUploadURLExternal":
                file_id = f"F{next(self._ts):08d}"
                return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}
            case "files.completeUploadExternal":
                files = json.loads(body.get("files", "[]"))
                return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
            case "users.list":
                listed = {u: _member(u) for u in sorted(self.workspace)}
                listed.update(self.users)
                members = list(listed.values())
                if not self.emails_visible:  # Slack leaves the emails out, without an error
                    members = [{**m, "profile": {k: v for k, v in m.get("profile", {}).items() if k != "email"}}
                               for m in members]  # fmt: skip
                start, limit = int(body.get("cursor") or 0), int(body.get("limit") or 0) or self.page_size
                more = start + limit < len(members)
                return {"ok": True, "members": members[start : start + limit],
                        "response_metadata": {"next_cursor": str(start + limit) if more else ""}}  # fmt: skip
            case "users.lookupByEmail":
                email = str(body.get("email", "")).casefold()
                found = next((u for u in self.users.values() if u["profile"]["email"].casefold() == email), None)
                return {"ok": True, "user": found} if found else {"ok": False, "error": "users_not_found"}
            case "users.info":
                found = self.users.get(str(body.get("user", "")))
                return {"ok": True, "user": found} if found else {"ok": False, "error": "user_not_found"}
            case "conversations.invite":
                channel = str(body.get("channel", ""))
                if channel not in self.channels.values():
                    return {"ok": False, "error": "channel_not_found"}
                users = {u for u in str(body.get("users", "")).split(",") if u}
                members = self.members.setdefault(channel, set())
                if users <= members:
                    return {"ok": False, "error": "already_in_channel"}
                members |= users
                return {"ok": True, "channel": {"id": channel}}
            case "conversations.join":
                return {"ok": True, "channel": {"id": str(body.get("channel", ""))}}
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": False, "error": "unknown_method"}

    async def _response(self, request: web.Request) -> web.Response:
        body, raw = await self._read(request)
        call = Call("response", body, target=request.match_info["id"], raw=raw, peer=_peer(request))
        self.calls.append(call)
        if _blocks_problem(call.json("blocks")):
            call.status = 400
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.calls.append(Call("upload", {}, target=request.match_info["id"], raw=raw))
        return web.Response(text=f"OK - {len(raw)}")


def _member(user_id: str) -> dict[str, Any]:
    """A workspace member listed by id only (``fake.workspace``), as ``users.list`` shows them."""
    name = user_id.lower()
    profile = {"email": f"{name}@members.example", "real_name": name, "display_name": name}
    return {"id": user_id, "team_id": "T0FAKE", "name": name, "deleted": False, "is_bot": False, "profile": profile}


def _blocks_problem(blocks: Any) -> str | None:
    """What Slack refuses in blocks as ``invalid_blocks``: an ``action_id`` over 255 characters, a select over
    100 options (``None`` if nothing)."""
    for block in blocks if isinstance(blocks, list) else []:
        elements = block.get("elements") or ([block["accessory"]] if block.get("accessory") else [])
        for element in elements:
            if len(str(element.get("action_id", ""))) > 255:
                return "action_id must be 255 characters or fewer"
            if len(element.get("options") or []) > 100:
                return "a select has at most 100 options"
    return None


def _peer(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else ""


def _over_limit(window: collections.deque[float], per_second: float, now: float) -> float | None:
    """Seconds to wait if one more call now would exceed ``per_second`` in a rolling window, else ``None``."""
    span = max(1.0, 1.0 / per_second)  # below 1/s: one call per 1/rate seconds
    while window and window[0] <= now - span:
        window.popleft()
    if len(window) >= round(per_second * span):
        return window[0] + span - now
    return None


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the client sees it disconnect)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    """A running :class:`FakeSlackAPI` for one test (the one shared fixture; registered in tests/plugin.py)."""
    async with FakeSlackAPI.running() as fake:
        yield fake


# --- driving a running SlackPlatform ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_slack(
    app: CohortBot, fake: FakeSlackAPI, *, socket_mode: bool = False, **overrides: Any
) -> AsyncIterator[SlackPlatform]:
    """A started :class:`SlackPlatform` on 127.0.0.1:0 using ``fake`` as its Web API (stopped afterwards)."""
    from bot.platforms.slack import SlackPlatform

    slack = SlackSettings(
        _env_file=None,
        **{
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "app_token": APP_TOKEN if socket_mode else None,
            "api_url": fake.api_url,
            **overrides,
        },
    )
    platform = SlackPlatform(app, slack, Settings(_env_file=None, http_host="127.0.0.1", http_port=0))
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


def signed_headers(
    body: str | bytes,
    secret: str = SIGNING_SECRET,
    timestamp: int | str | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """Slack's request signature: ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`` (over the body's bytes)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body if isinstance(body, bytes) else body.encode()
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type or "application/x-www-form-urlencoded",
    }


async def post_signed(
    platform: SlackPlatform,
    body: str | bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | str | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST ``body`` signed to the platform's ``/slack/events``; the HTTP status and response text.

    ``content_type`` defaults to a form body; use ``application/json`` for Events API callbacks. ``headers`` are
    added (``X-Slack-Retry-Num`` for a retry) or override the signature's.
    """
    url = f"http://127.0.0.1:{platform.port}/slack/events"
    sent = {**signed_headers(body, secret, timestamp, content_type), **(headers or {})}
    data = body if isinstance(body, bytes) else body.encode()
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=sent) as resp:
        return resp.status, await resp.text()


_ids = itertools.count(1)


def team_join_event(user: dict[str, Any]) -> dict[str, Any]:
    """The ``team_join`` event Slack sends when ``user`` (a Slack user object) joins the workspace."""
    return {"type": "team_join", "user": user, "event_ts": f"{time.time():.6f}"}


async def send_event(platform: SlackPlatform, event: dict[str, Any]) -> int:
    """POST a signed Events API ``event_callback`` carrying ``event``; the HTTP status of the ack."""
    body = {
        "token": "legacy",
        "team_id": "T0FAKE",
        "api_app_id": "A0FAKE",
        "type": "event_callback",
        "event_id": f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "event": event,
    }
    status, _ = await post_signed(platform, json.dumps(body), content_type="application/json")
    return status


@dataclass
class SlashResult:
    """The immediate ack and what came back through the ``response_url``."""

    status: int
    ack: str
    response: dict | None

    @property
    def text(self) -> str:
        """The answer's fallback text plus the text of all its blocks, for easy assertions."""
        if self.response is None:
            return ""
        parts = [self.response.get("text", "")]
        for block in self.response.get("blocks", []):
            parts.append(json.dumps(block, ensure_ascii=False))
        return "\n".join(parts)

    @property
    def ephemeral(self) -> bool:
        """Whether the answer is only shown to the asker."""
        return bool(self.response) and self.response.get("response_type") == "ephemeral"


def slash_body(
    fake: FakeSlackAPI,
    command: str,
    text: str = "",
    *,
    user: str = "U0SCH000001",
    user_name: str = "ada",
    channel: str = "C0INTRO0001",
    channel_name: str = "intro-course",
    ident: str | None = None,
) -> tuple[dict[str, str], str]:
    """The form fields of a slash command as Slack sends them, and the id of its response URL."""
    ident = ident or f"r{next(_ids)}"
    fields = {
        "token": "legacy",
        "team_id": "T0FAKE",
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A0FAKE",
        "response_url": fake.response_url(ident),
        "trigger_id": f"trigger-{ident}",
    }
    return fields, ident


async def slash(
    platform: SlackPlatform,
    fake: FakeSlackAPI,
    command: str,
    text: str = "",
    *,
    wait: bool = True,
    within: float = 3.0,
    **fields: str,
) -> SlashResult:
    """Send a signed slash command over HTTP and (``wait``) return what was posted to its response URL."""
    form, ident = slash_body(fake, command, text, **fields)
    status, ack = await post_signed(platform, urlencode(form))
    response = await fake.response(ident, within) if wait and status == 200 else None
    return SlashResult(status, ack, response)


async def interact(platform: SlackPlatform, payload: dict) -> tuple[int, dict | str]:
    """POST a signed interactivity payload (``view_submission``, ...); the status and the JSON (or text) answer."""
    status, text = await post_signed(platform, urlencode({"payload": json.dumps(payload)}))
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, text


def mention(user: str, event_id: str, channel: str = "C0INTRO0001") -> dict:
    """The Events API callback Slack sends when ``user`` mentions the bot (``event_id`` is the event's own id)."""
    return {
        "token": "legacy",
        "team_id": "T0FAKE",
        "api_app_id": "A0FAKE",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {"type": "app_mention", "user": user, "text": "<@U0BOT> hi", "channel": channel, "ts": "1.2"},
    }


def view_submission(view: dict, values: dict[str, str | None], user: str) -> dict:
    """The ``view_submission`` payload Slack sends when ``user`` submits ``view`` (as opened) with ``values``.

    Each call is a new submission (a fresh ``trigger_id``); to replay one, send the same payload again.
    """
    state = {name: {"value": {"type": "plain_text_input", "value": v}} for name, v in values.items()}
    return {
        "type": "view_submission",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0FAKE",
        "token": "legacy",
        "trigger_id": f"trigger-submit-{next(_ids)}",  # Slack makes a fresh one for every submission
        "view": {**view, "id": "V0001", "team_id": "T0FAKE", "state": {"values": state}},
    }


def _find_element(blocks: list[dict], label: str | None, *, select: bool) -> dict:
    """The button with text ``label`` (or the select with that placeholder, or the only select) in ``blocks``."""
    found = []
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            is_select = element["type"] != "button"
            if select != is_select:
                continue
            name = (element.get("placeholder") if is_select else element.get("text")) or {}
            if label is None or name.get("text") == label:
                found.append({**element, "block_id": block.get("block_id", "actions")})
    if len(found) != 1:
        kind = "select" if select else "button"
        raise AssertionError(f"expected one {kind} {label!r} in the blocks, found {len(found)}: {blocks}")
    return found[0]


def block_actions(
    fake: FakeSlackAPI,
    blocks: list[dict],
    label: str | None = None,
    *,
    values: list[str] | None = None,
    user: str = "U0SCH000001",
    channel: str = "C0INTRO0001",
    ident: str | None = None,
) -> tuple[dict, str]:
    """The ``block_actions`` payload Slack sends when ``user`` clicks the button ``label`` in a message with
    ``blocks`` (or picks ``values`` in its select), and the id of its response URL."""
    ident = ident or f"a{next(_ids)}"
    element = _find_element(blocks, label, select=values is not None)
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": element["block_id"],
        "action_ts": f"{time.time():.6f}",
    }
    kind = element["type"]
    if kind == "button":
        action["text"] = element["text"]
    elif kind in ("static_select", "multi_static_select"):
        chosen = [o for o in element["options"] if o["value"] in set(values or [])]
        if kind == "static_select":
            action["selected_option"] = chosen[0] if chosen else None
        else:
            action["selected_options"] = chosen
    elif kind == "users_select":
        action["selected_user"] = (values or [None])[0]
    elif kind == "multi_users_select":
        action["selected_users"] = list(values or [])
    payload = {
        "type": "block_actions",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0FAKE",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": f"trigger-{ident}",
        "channel": {"id": channel, "name": next((n for n, i in fake.channels.items() if i == channel), "dm")},
        "message": {"type": "message", "ts": "1700000000.000100", "text": "", "blocks": blocks},
        "response_url": fake.response_url(ident),
        "actions": [action],
    }
    return payload, ident


async def click(
    platform: SlackPlatform,
    fake: FakeSlackAPI,
    blocks: list[dict],
    label: str | None = None,
    *,
    values: list[str] | None = None,
    user: str = "U0SCH000001",
    within: float = 3.0,
) -> SlashResult:
    """Send a signed ``block_actions`` click and return what came back through its response URL."""
    payload, ident = block_actions(fake, blocks, label, values=values, user=user)
    status, ack = await post_signed(platform, urlencode({"payload": json.dumps(payload)}))
    response = await fake.response(ident, within) if status == 200 else None
    return SlashResult(status, ack, response)
