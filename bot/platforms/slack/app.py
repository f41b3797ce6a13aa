"""The Slack adapter: slack-bolt's ``AsyncApp`` wired to the core, over HTTP or Socket Mode.

No feature logic lives here. A slash command is acknowledged at once (Slack wants an answer within 3 s),
then its text is split into raw options (``bot/core/textargs.py``), the core runs it, and the :class:`Reply` is rendered
(``render.py``) and sent through the command's ``response_url`` (ephemeral when private; :func:`post_response`).
A reply with a form opens a modal (``forms.py``); its submission runs ``form.command``.

Two Web API clients share the token and ``SLACK_API_URL``:

* ``client`` (interactive replies, modals, uploads) retries a 429 once after Slack's ``Retry-After``, using
  slack-sdk's ``AsyncRateLimitErrorRetryHandler``;
* ``outbox_client`` (the :class:`SlackSender`) retries nothing (``retry_handlers=[]``; slack-sdk's default
  would re-post at once after a connection error, and Slack has no idempotency key): the outbox worker must
  see a 429 to pace itself, and checks an unanswered post with ``delivered()`` before resending it. It keeps
  one HTTP session (opened in ``start``) and paces at ``SLACK_RATE_PER_SECOND`` (workspace) and
  ``SLACK_CHANNEL_RATE_PER_SECOND`` (each channel or DM).

``client`` and every ``response_url`` answer share one aiohttp session (opened in :meth:`SlackPlatform.start`;
the outbox client has its own), so answers reuse keep-alive connections instead of opening a session, and a
connection, per call.

HTTP mode serves ``POST /slack/events`` (slash commands, interactivity, events) and ``GET /healthz``. The
signature is checked on the raw body before anything is parsed: unsigned, forged or older than 5 minutes is 401;
signed but unreadable (not UTF-8, broken JSON) is 400. Slash commands are then acknowledged and run by the adapter
itself (see :meth:`SlackPlatform._events`); everything else is dispatched by bolt. A request Slack retries, or
anyone replays, is run once (``dedupe.py``; also in Socket Mode, where bolt dispatches slash commands too).
Socket Mode (``SLACK_APP_TOKEN`` set) serves only ``/healthz`` over HTTP.
Both also serve the routes features declare in ``app.web_routes`` (``bot/web.py``), such as calendar feeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.context import Actor, Place
from bot.core.messages import ACTION_PREFIX, Reply
from bot.core.platform import SendRate
from bot.core.textargs import TextParseError, resolve
from bot.platforms import preselected_ids
from bot.platforms.slack.dedupe import RecentlySeen, request_key
from bot.platforms.slack.forms import CALLBACK_ID, form_view, read_submission
from bot.platforms.slack.linker import SlackLinker
from bot.platforms.slack.names import SlackNames
from bot.platforms.slack.render import Rendered, chosen_values, render, text_blocks
from bot.platforms.slack.sender import SlackSender, upload_files
from bot.platforms.slack.settings import SlackSettings
from bot.platforms.slack.spec import CAPS, credentials, port_error
from bot.settings import Settings
from bot.web import add_routes, announce

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
APOLOGY = "Sorry, something went wrong on my side while answering that. Please try again in a moment."
FORM_EXPIRED = "That needs a form, but Slack no longer lets me open it. Please run the command again."
MAX_REQUEST_AGE = 5 * 60  # seconds, as Slack and bolt allow
ACK_SECONDS = 2.5  # answer a modal submission before Slack's 3 s deadline, even if the command is slow
Respond = Callable[..., Awaitable[Any]]
ACTION_PATTERN = rf"^{ACTION_PREFIX}\|"  # every button and select of ours (see bot/core/messages.py)
FORM = "application/x-www-form-urlencoded"
STOP_GRACE = 5.0  # seconds stop() lets commands still running finish their answers
RECONNECT_PAUSE = 0.5  # seconds before the one retry of a response_url post whose connection could not be opened


async def post_response(session: aiohttp.ClientSession, url: str, message: Mapping[str, Any]) -> int:
    """POST ``message`` as JSON to a ``response_url``; the HTTP status (a refusal is logged, not raised).

    Tried once more, after :data:`RECONNECT_PAUSE`, only if the connection could not be opened
    (``aiohttp.ClientConnectorError``: refused, unreachable, DNS, TLS handshake): then not one byte of the request
    was sent, so Slack cannot have posted the answer. An error once the request may have gone out (the server
    closed or reset the connection before answering, a timeout) is not retried: a response_url post carries no
    idempotency key, so Slack may already have shown it and a retry could show it twice. (aiohttp retries a
    broken kept-alive connection only for idempotent methods, never a POST; slack-sdk's webhook client, used here
    before, retries after those later errors too.)
    """
    body = {key: value for key, value in message.items() if value is not None}
    try:
        return await _post_json(session, url, body)
    except aiohttp.ClientConnectorError as exc:
        log.info("could not connect to the response_url (%s); trying once more", exc)
    await asyncio.sleep(RECONNECT_PAUSE)
    return await _post_json(session, url, body)


async def _post_json(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> int:
    async with session.post(url, json=body) as response:
        text = await response.text()  # read to the end, so the connection is kept alive for the next answer
        if response.status != 200:
            log.warning("the response_url refused an answer: %s %s", response.status, text[:200])
        return response.status


async def _unanswerable(**_message: Any) -> None:
    """A slash command always carries a ``response_url``; without one there is nowhere to answer."""
    log.warning("a slash command came without a response_url: its answer is dropped")


def _place(channel_id: str | None, channel_name: str | None) -> Place:
    return Place(channel_id=channel_id, channel_name=channel_name, is_dm=channel_name == "directmessage")


class SlackPlatform:
    """Runs cohortbot on Slack (the core's :class:`bot.core.platform.PlatformRunner`)."""

    name = "slack"
    serves_http = True  # it runs an HTTP server, which also serves the features' routes (bot/web.py)

    def __init__(self, app: CohortBot, slack: SlackSettings, settings: Settings) -> None:
        token, signing_secret, self.app_token = credentials(slack)
        self.app = app
        self.settings = settings
        self.socket_mode = bool(self.app_token)
        base_url = slack.api_url if slack.api_url.endswith("/") else slack.api_url + "/"
        self.client = AsyncWebClient(
            token=token,
            base_url=base_url,
            retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        self.outbox_client = AsyncWebClient(token=token, base_url=base_url, retry_handlers=[])
        self.names = SlackNames(app.registry.top_level_names(), slack.command_prefix)
        rate = SendRate(per_second=slack.rate_per_second, per_channel=slack.channel_rate_per_second, adaptive=True)
        self.sender = SlackSender(app, self.outbox_client, self.names, rate=rate)
        self._outbox_session: aiohttp.ClientSession | None = None
        # Linking people by email (users.lookupByEmail, Tier 3; users.list, Tier 2, for many): its own client, so
        # it sees and waits out 429s.
        self.linker = SlackLinker(
            AsyncWebClient(token=token, base_url=base_url, retry_handlers=[AsyncConnectionErrorRetryHandler()]),
            per_minute=slack.lookup_per_minute,
            list_per_minute=slack.list_per_minute,
        )
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            request_verification_enabled=not self.socket_mode,
            process_before_response=False,
            logger=logging.getLogger("slack_bolt"),
        )
        self._signing_secret = signing_secret.encode()
        self.seen = RecentlySeen()
        self._running: set[asyncio.Task] = set()  # slash commands acknowledged over HTTP, still being answered
        self.bolt.middleware(self._once)
        self.bolt.command(re.compile(r"^/.+"))(self._on_command)
        self.bolt.view_submission(CALLBACK_ID)(self._on_view_submission)
        self.bolt.action(re.compile(ACTION_PATTERN))(self._on_action)
        self.bolt.event("app_mention")(self._on_mention)
        self.bolt.event("team_join")(self._on_team_join)
        self.port: int | None = None
        self.session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._stopped = asyncio.Event()
        self._stopped.set()

    # --- running -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve HTTP (and connect Socket Mode if configured); register the sender."""
        # One HTTP session for the answers: Web API calls and response_url posts (keep-alive, no session per call).
        self.session = aiohttp.ClientSession()
        self.client.session = self.session
        web_app = web.Application()
        if not self.socket_mode:
            web_app.router.add_post("/slack/events", self._events)
        web_app.router.add_get("/healthz", self._healthz)
        add_routes(web_app, self.app)  # the features' own routes (bot/web.py), e.g. calendar feeds
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as exc:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            raise port_error(self.settings.http_host, self.settings.http_port, exc) from None
        self.port = self._runner.addresses[0][1]
        announce(self.app, self.settings, self.port)
        if self.socket_mode:
            self._socket = AsyncSocketModeHandler(self.bolt, self.app_token, web_client=self.client)
            await self._socket.connect_async()
        self._outbox_session = aiohttp.ClientSession()  # one kept-alive session for the outbox's posts
        self.outbox_client.session = self._outbox_session
        self.app.senders["slack"] = self.sender
        self.app.linkers["slack"] = self.linker
        self._stopped.clear()
        mode = "Socket Mode" if self.socket_mode else "HTTP mode, POST /slack/events"
        log.info("Slack adapter up (%s; http://%s:%s/healthz)", mode, self.settings.http_host, self.port)

    async def stop(self) -> None:
        """Disconnect and stop serving (idempotent)."""
        if self.app.linkers.get("slack") is self.linker:
            del self.app.linkers["slack"]
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            announce(self.app, self.settings, None)
        if self._running:  # commands already acknowledged: let them answer (bounded) before the session closes
            await asyncio.wait(set(self._running), timeout=STOP_GRACE)
        if self.session is not None:
            session, self.session = self.session, None
            self.client.session = None
            await session.close()
        if self._outbox_session is not None:
            session, self._outbox_session = self._outbox_session, None
            self.outbox_client.session = None
            await session.close()
        self._stopped.set()

    async def wait(self) -> None:
        """Return once :meth:`stop` has run."""
        await self._stopped.wait()

    async def _healthz(self, _request: web.Request) -> web.Response:
        up = not self._stopped.is_set()
        mode = "socket" if self.socket_mode else "http"
        return web.json_response({"ok": up, "platform": "slack", "mode": mode}, status=200 if up else 503)

    async def _events(self, request: web.Request) -> web.Response:
        """Check the signature on the raw bytes first (401), then parse (400); a slash command is acknowledged and
        run here, anything else is dispatched by bolt.

        Bolt itself would decode and parse before checking, so a binary body, a broken JSON ``payload`` or a
        timestamp that is not a number would answer 500 with a traceback in the log. Slash commands, the bot's
        busiest requests, skip bolt's dispatch (its middleware chain, listener matching and the task polling for
        ``ack()``): they need none of it once the signature is checked, and bolt reads a command whose text
        contains the word "payload" as an empty interactivity payload (404).
        """
        raw = await request.read()
        if not self._signed(raw, request.headers):
            return web.Response(status=401, text="invalid or missing signature")
        try:
            text = raw.decode("utf-8")
            if request.content_type == FORM:
                command = dict(parse_qsl(text, keep_blank_values=True))
                if "command" in command and "payload" not in command and "ssl_check" not in command:
                    return self._slash_command(command, request.headers.get("X-Slack-Retry-Num"))
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
            if not isinstance(bolt_request.body, dict):
                raise ValueError("the body is not a JSON object or form")
        except Exception as exc:  # not UTF-8, broken JSON, or JSON bolt cannot read: parsing untrusted input
            log.warning("refused a signed Slack request that cannot be read: %s", str(exc)[:200])
            return web.Response(status=400, text="the request body is not a Slack payload")
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    def _slash_command(self, body: dict[str, str], retry: str | None) -> web.Response:
        """Acknowledge a signed slash command at once (an empty 200) and run it in the background, once."""
        if self._repeated(body, retry):
            return web.Response(status=200)
        task = asyncio.get_running_loop().create_task(self.run_command(body, None))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return web.Response(status=200)

    def _signed(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's request signature (``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")``), at most 5 minutes old.

        Computed over the raw bytes, so a body that is not text is simply unsigned, not an error.
        """
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit()) or abs(time.time() - int(timestamp)) > MAX_REQUEST_AGE:
            return False
        digest = hmac.new(self._signing_secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
        return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)

    async def _once(self, body: dict, request: AsyncBoltRequest, next: Callable[[], Awaitable[None]]) -> Any:
        """Bolt middleware: a retried or replayed request is acknowledged and not run again."""
        if self._repeated(body, (request.headers.get("x-slack-retry-num") or [None])[0]):
            return BoltResponse(status=200, body="")
        return await next()

    def _repeated(self, body: Mapping[str, Any], retry: str | None) -> bool:
        """Whether this request (its ``event_id`` or ``trigger_id``) was already seen: a retry or a replay, to be
        acknowledged without acting again (see :mod:`bot.platforms.slack.dedupe`)."""
        key = request_key(body)
        if key is None or self.seen.first_time(key):
            return False
        log.info("answered a repeated Slack request without acting again (%s, retry %s)", key, retry or "-")
        return True

    # --- slash commands ------------------------------------------------------------------------------------

    def responder(self, response_url: str | None, fallback: Respond) -> Respond:
        """Answer through ``response_url`` on the shared session (``fallback``, bolt's ``respond``, without one)."""
        session = self.session
        if not response_url or session is None:
            return fallback

        async def respond(**message: Any) -> int:
            return await post_response(session, response_url, message)

        return respond

    async def _on_command(self, ack: Callable[..., Awaitable[None]], body: dict, respond: Respond) -> None:
        """A slash command that came through bolt (Socket Mode; over HTTP, :meth:`_events` runs them itself)."""
        await ack()
        await self.run_command(body, respond)

    async def run_command(self, body: Mapping[str, Any], fallback: Respond | None) -> None:
        """Run the slash command in ``body`` (already acknowledged) and answer through its ``response_url``; an
        unexpected failure gets the apology. ``fallback``: how to answer a command without a ``response_url``."""
        respond = self.responder(body.get("response_url"), fallback or _unanswerable)
        try:
            await self.handle_command(body, respond)
        except Exception:
            log.exception("answering %s for %s failed", body.get("command"), body.get("user_id"))
            await self._respond_text(respond, APOLOGY)

    async def handle_command(self, body: Mapping[str, Any], respond: Respond) -> None:
        """Run the slash command in ``body`` and answer through ``respond`` (the response_url)."""
        actor = Actor("slack", body["user_id"], body.get("user_name") or "", caps=CAPS)
        place = _place(body.get("channel_id"), body.get("channel_name"))
        try:
            slash = self.names.core(body.get("command", ""))
            name, options = resolve(self.app.registry, slash, body.get("text") or "")
        except TextParseError as exc:
            usage = f"\nUsage: `{exc.usage}`" if "\n" not in exc.usage else f"\nUsage:\n```{exc.usage}```"
            await self._respond_text(respond, f"⚠️ {exc.message}{usage if exc.usage else ''}")
            return
        reply = await self.app.dispatch(actor, name, options, place)
        await self.answer(reply, actor, place, respond, body.get("trigger_id"), name)

    async def answer(
        self, reply: Reply, actor: Actor, place: Place, respond: Respond, trigger_id: str | None, name: str
    ) -> None:
        """Render ``reply`` through ``respond``: a form as a modal, a message as blocks (replacing the clicked
        message when ``reply.replace``), its files uploaded."""
        zone = reply.zone_or(self.app.cohort.zone)
        if reply.form is not None:
            try:
                view = form_view(self.names.form(reply.form), place, zone)
                await self.client.views_open(trigger_id=trigger_id, view=view)
            except Exception:
                log.exception("views.open for /%s failed", name)
                await self._respond_text(respond, FORM_EXPIRED)
            return
        if reply.message is None:
            return
        message = self.names.message(reply.message)
        rendered = render(message, zone, await preselected_ids(self.app, message, "slack"))
        await self._upload(rendered, actor, place, reply.private)
        if reply.replace:
            await respond(text=rendered.text, blocks=rendered.blocks, replace_original=True)
            return
        await respond(
            text=rendered.text,
            blocks=rendered.blocks,
            response_type="ephemeral" if reply.private else "in_channel",
            replace_original=False,
        )

    # --- buttons and selects -------------------------------------------------------------------------------

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: dict, respond: Respond) -> None:
        await ack()
        respond = self.responder(body.get("response_url"), respond)
        user = body.get("user") or {}
        try:
            action = (body.get("actions") or [{}])[0]
            actor = Actor("slack", user["id"], user.get("username") or user.get("name") or "", caps=CAPS)
            channel = body.get("channel") or {}
            place = _place(channel.get("id"), channel.get("name"))
            action_id = str(action.get("action_id", ""))
            reply = await self.app.dispatcher.click(actor, action_id, chosen_values(action), place)
            await self.answer(reply, actor, place, respond, body.get("trigger_id"), action_id)
        except Exception:
            log.exception("answering a click from %s failed", user.get("id"))
            await self._respond_text(respond, APOLOGY)

    async def _respond_text(self, respond: Respond, text: str) -> None:
        text = self.names.text(text)
        try:
            await respond(text=text, blocks=text_blocks(text), response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("could not answer through the response_url")

    async def _upload(self, rendered: Rendered, actor: Actor, place: Place, private: bool) -> None:
        """Upload the reply's files: to the channel if public, else to the asker's DM; note it in the reply."""
        if not rendered.uploads:
            return
        names = ", ".join(u.filename for u in rendered.uploads)
        try:
            if private or not place.channel_id:
                opened = await self.client.conversations_open(users=actor.user_id)
                channel = opened["channel"]["id"]
                where = "in our direct messages"
            else:
                channel, where = place.channel_id, "in this channel"
            failed = await upload_files(self.client, channel, rendered)
        except Exception:
            log.exception("could not upload %s", names)
            failed = [u.filename for u in rendered.uploads]
        note = f"I couldn't attach {', '.join(failed)}; please try again." if failed else f"Sent {names} {where}."
        rendered.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})

    # --- modals --------------------------------------------------------------------------------------------

    async def _on_view_submission(self, ack: Callable[..., Awaitable[None]], body: dict, view: dict) -> None:
        acked = False
        user = body.get("user") or {}
        try:
            submission = read_submission(view)
            actor = Actor("slack", user["id"], user.get("username") or user.get("name") or "", caps=CAPS)
            task = asyncio.ensure_future(
                self.app.dispatch(actor, submission.command, submission.options, submission.place)
            )
            done, _ = await asyncio.wait({task}, timeout=ACK_SECONDS)
            if not done:  # slow command: close the modal now, post the answer when it comes
                await ack()
                acked = True
            reply = await task
            if not acked and reply.error_field and reply.error_field in submission.fields:
                await ack(response_action="errors", errors={reply.error_field: reply.error or "Please check this."})
                return
            if not acked and reply.form is not None:
                view = form_view(self.names.form(reply.form), submission.place, reply.zone_or(self.app.cohort.zone))
                await ack(response_action="update", view=view)
                return
            if not acked:
                await ack()
                acked = True
            if reply.message is not None:
                await self._post_result(reply, actor, submission.place)
        except Exception:
            log.exception("handling a modal submission from %s failed", user.get("id"))
            if not acked:
                await ack(response_action="errors", errors=self._apology_errors(view))
            elif user.get("id"):
                await self._post_result(Reply.text(APOLOGY), Actor("slack", user["id"], caps=CAPS), Place())

    @staticmethod
    def _apology_errors(view: dict) -> dict[str, str]:
        blocks = [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input" and b.get("block_id")]
        return {blocks[0]: APOLOGY} if blocks else {}

    async def _post_result(self, reply: Reply, actor: Actor, place: Place) -> None:
        """Post a modal's result: ephemeral in the original channel if private (else in it), or by DM."""
        assert reply.message is not None
        rendered = render(self.names.message(reply.message), reply.zone_or(self.app.cohort.zone))
        await self._upload(rendered, actor, place, reply.private)
        content = {"text": rendered.text, "blocks": rendered.blocks}
        if place.channel_id and not place.is_dm:
            try:
                if reply.private:
                    await self.client.chat_postEphemeral(channel=place.channel_id, user=actor.user_id, **content)
                else:
                    await self.client.chat_postMessage(channel=place.channel_id, **content)
                return
            except Exception:
                log.warning("posting to %s failed; sending the result by DM instead", place.channel_id)
        await self.client.chat_postMessage(channel=actor.user_id, **content)

    # --- events --------------------------------------------------------------------------------------------

    async def _on_team_join(self, event: dict) -> None:
        """Someone joined the workspace: the core links them to the roster person with their email, if any."""
        user = event.get("user") or {}
        if not user.get("id") or user.get("is_bot") or user.get("deleted"):
            return
        email = (user.get("profile") or {}).get("email") or None
        try:
            person = await self.app.identify("slack", user["id"], email)
        except Exception:
            log.exception("linking the new member %s failed", user.get("id"))
            return
        if person is not None:
            log.info("Slack: new member %s linked to %s", user["id"], person.name)

    async def _on_mention(self, event: dict, client: AsyncWebClient) -> None:
        try:
            await client.chat_postEphemeral(
                channel=event["channel"], user=event["user"], text="Hi! I answer slash commands: try /help."
            )
        except Exception:
            log.exception("answering a mention failed")
