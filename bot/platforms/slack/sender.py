"""The outbox's way out on Slack: ``chat.postMessage`` to a channel (by its cohort-file name) or a person.

The sender does no pacing and no retrying: the outbox worker paces (at the sender's ``rate``: about 1 message a
second per channel under a workspace-wide rate), it must *see* a 429 to slow down, and Slack has no idempotency
key, so a retry by the client itself could post twice. Its ``AsyncWebClient`` is built with
``retry_handlers=[]`` (slack-sdk's default retries connection errors at once; interactive replies use a client
that has retry handlers, see ``app.py``). Errors are mapped to the core's :class:`TransientSendError` (retry
later, with Slack's ``Retry-After``), :class:`UnknownOutcomeError` (the post went out but no answer came back:
a timeout, a dropped connection, a 500 or ``fatal_error``; :meth:`SlackSender.delivered` is asked before a
resend) and :class:`PermanentSendError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.messages import Message
from bot.core.people import Person
from bot.core.platform import (
    CHANNEL_MISSING,
    DEACTIVATED,
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
from bot.membership import wanted
from bot.platforms import mention_line, mentioned
from bot.platforms.slack.names import SlackNames
from bot.platforms.slack.render import Rendered, render

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Answers after which a post may or may not have been made ("it's possible some aspect of the operation
# succeeded", says Slack of fatal_error): asked about with delivered() before a resend.
UNKNOWN_ERRORS = {"internal_error", "fatal_error"}
UNKNOWN_STATUS = {500, 504}
# Slack's permanent errors as the core's kinds of failure (bot/core/platform.py); others stay unclassified.
# (account_inactive is about the bot's own token, not the recipient: it is not "deactivated".)
FAILURE_KINDS = {
    "cannot_dm_bot": DMS_CLOSED,
    "user_not_found": NOT_MEMBER,
    "user_not_visible": NOT_MEMBER,
    "user_disabled": DEACTIVATED,
    "channel_not_found": CHANNEL_MISSING,
    "not_in_channel": CHANNEL_MISSING,
    "is_archived": CHANNEL_MISSING,
}
DEFAULT_RATE = SendRate(per_second=8.0, per_channel=1.0, adaptive=True)
METADATA_EVENT = "cohortbot_outbox"
# How far before the recorded start of a send the history is searched (clock skew between us and Slack), and
# how many history pages (of HISTORY_PAGE messages) at most.
HISTORY_SLACK = timedelta(seconds=60)
HISTORY_PAGE = 200
HISTORY_PAGES = 5
# conversations.invite answers that mean the work is done, and those that need a scope or an invitation.
ALREADY_IN = {"already_in_channel", "cant_invite_self"}
NEEDS_SCOPE = {"missing_scope", "not_allowed_token_type", "restricted_action"}
MEMBERS_TTL = 300.0  # how long the workspace's member list (users.list) is trusted
MEMBERS_PAGE = 1000


def _retry_after(exc: SlackApiError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: Exception, what: str, *, posts: bool = False) -> TransientSendError | PermanentSendError:
    """The core's send error for a Slack failure while doing ``what``.

    With ``posts`` (the call may have posted a message), a failure after which it may have been posted anyway
    is an :class:`UnknownOutcomeError`; for reads it is simply transient.
    """
    unknown = UnknownOutcomeError if posts else TransientSendError
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        status = getattr(exc.response, "status_code", 200) or 200
        reason = f"{what}: {error or f'HTTP {status}'}"
        if status == 429 or error == "ratelimited":
            return TransientSendError(reason, _retry_after(exc))
        if status in UNKNOWN_STATUS or error in UNKNOWN_ERRORS:
            return unknown(reason)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TransientSendError(reason)
        return PermanentSendError(reason, FAILURE_KINDS.get(error))
    if isinstance(exc, aiohttp.ClientConnectorError):  # never connected: nothing went out
        return TransientSendError(f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, aiohttp.ClientError | TimeoutError | ConnectionError | SlackRequestError):
        return unknown(f"{what}: no answer: {type(exc).__name__}: {exc}")
    return PermanentSendError(f"{what}: {type(exc).__name__}: {exc}")


async def call(what: str, make: Callable[[], Awaitable[T]], *, posts: bool = False, within: float | None = None) -> T:
    """Run a Web API call (in ``within`` seconds at most), turning its failure into a send error."""
    try:
        async with asyncio.timeout(within):
            return await make()
    except (TimeoutError, SlackApiError, SlackRequestError, aiohttp.ClientError, ConnectionError) as exc:
        raise classify(exc, what, posts=posts) from exc


async def upload_files(client: AsyncWebClient, channel_id: str, rendered: Rendered) -> list[str]:
    """Upload the message's files to ``channel_id`` (files v2 flow); the names of those that failed (logged)."""
    failed: list[str] = []
    for upload in rendered.uploads:
        try:
            source = {"file": upload.path} if upload.path else {"content": upload.content}
            await client.files_upload_v2(channel=channel_id, filename=upload.filename, title=upload.title, **source)
        except Exception:
            log.exception("uploading %s to %s failed", upload.filename, channel_id)
            failed.append(upload.filename)
    return failed


class SlackSender:
    """Delivers outbox messages on Slack (the core's :class:`bot.core.platform.Sender`)."""

    platform = "slack"
    task_kinds = frozenset({"member_sync"})

    def __init__(
        self,
        app: CohortBot,
        client: AsyncWebClient,
        names: SlackNames | None = None,
        *,
        rate: SendRate | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.client = client
        self.names = names or SlackNames(app.registry.top_level_names())
        self.rate = rate or DEFAULT_RATE
        self.timeout = timeout  # seconds for each Web API call; past it a post's outcome is unknown
        self._channels: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._members: tuple[float, set[str]] | None = None
        self._warned: set[str] = set()

    async def run_task(self, task: PlatformTask, *, key: str) -> str | None:
        """``member_sync``: invite the member to the channels the roster says (their track's and sections').

        Slack has no server roles, and the bot does not remove people from channels (a removed person keeps
        what they had; the bot no longer answers them). Inviting someone who is in already is a success, so the
        task can run any number of times. Errors: a missing scope is logged once with what to grant; a private
        channel the bot is not in is named (invite the bot); a rate limit is retried by the outbox.
        """
        if task.kind != "member_sync":
            raise PermanentSendError(f"Slack cannot do {task.kind} tasks")
        user_id = str(task.data["user_id"])
        person = await self.app.people.get(int(task.data["person_id"]))
        if person is None or person.platform_id("slack") != user_id:
            return "nothing to invite to"
        failures: list[str] = []
        invited = 0
        for name in sorted(wanted(self.app.cohort, person).channels):
            try:
                channel = await self.channel_id(name)
                invited += await self._invite(channel, name, user_id)
            except PermanentSendError as exc:
                failures.append(exc.reason)
        if failures:
            raise PermanentSendError("; ".join(failures))
        return f"invited to {invited} channel(s)"

    async def _invite(self, channel: str, name: str, user_id: str) -> int:
        """Invite ``user_id`` to ``channel`` (joining it first if the bot is not in a public one); 1 if invited."""
        for attempt in (1, 2):
            try:
                await self.client.conversations_invite(channel=channel, users=user_id)
                return 1
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                if error in ALREADY_IN:
                    return 0
                if error == "not_in_channel" and attempt == 1:
                    await call(f"conversations.join #{name}", lambda: self.client.conversations_join(channel=channel))
                    continue
                if error in NEEDS_SCOPE:
                    self._warn_once(
                        "invite-scope",
                        "Slack: the bot may not invite people to channels (%s): give the app the channels:manage and "
                        "groups:write scopes (cohortbot slack-manifest) and reinstall it",
                        error,
                    )
                if error == "not_in_channel":
                    raise PermanentSendError(f"invite to #{name}: the bot is not in it (invite @cohortbot)") from exc
                raise classify(exc, f"invite to #{name}") from exc
        return 0

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.error(message, *args)

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Post ``message`` to ``target``; ``key`` goes into the message metadata for traceability."""
        channel = await self.channel_for(target)
        rendered = render(self.names.message(message), self.app.cohort.zone)
        mentions = mention_line(*await mentioned(self.app, message, "slack"))
        if mentions:  # Slack notifies people mentioned as <@U…> in the text or a section
            rendered.blocks.insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": mentions[:3000]}})
            rendered.text = f"{mentions} {rendered.text}"
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        response = await call(
            f"chat.postMessage to {target.describe()}",
            lambda: self.client.chat_postMessage(
                channel=channel, text=rendered.text, blocks=rendered.blocks, metadata=metadata
            ),
            posts=True,
            within=self.timeout,
        )
        # The message is out: a failed upload is logged, not retried (a retry would post the message twice).
        await upload_files(self.client, response.get("channel") or channel, rendered)
        return response.get("ts")

    async def delivered(self, target: Target, key: str, since: datetime) -> str | None:
        """The ts of the message posted with outbox ``key`` to ``target`` since ``since``, or ``None``.

        Asked by the outbox before resending a message whose last send had no answer (a timeout, a dropped
        connection, a crash), since Slack has no idempotency key: looks for the ``cohortbot_outbox`` metadata that
        :meth:`send` attaches, in ``conversations.history`` from a minute before ``since``. Needs the
        ``channels:history``, ``groups:history`` and ``im:history`` scopes. A transient error raises
        :class:`TransientSendError` (asked again later, never resent meanwhile); a permanent one (a missing
        scope) :class:`PermanentSendError` (the outbox then resends, with a warning).
        """
        channel = await self.channel_for(target)
        if isinstance(target, DMTarget):  # history needs the DM's own id (D…), not the person's
            opened = await call(
                f"conversations.open for {target.describe()}",
                lambda: self.client.conversations_open(users=channel),
                within=self.timeout,
            )
            channel = opened["channel"]["id"]
        oldest = f"{(since - HISTORY_SLACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = await call(
                f"conversations.history of {target.describe()}",
                lambda cursor=cursor: self.client.conversations_history(
                    channel=channel, oldest=oldest, limit=HISTORY_PAGE, include_all_metadata=True, cursor=cursor
                ),
                within=self.timeout,
            )
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                    return message.get("ts")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        raise TransientSendError(f"{key} not found in the first {HISTORY_PAGES * HISTORY_PAGE} messages")

    async def unreachable(self, people: Sequence[Person]) -> dict[int, str]:
        """Who cannot be reached here: no Slack account linked, or not (any more) an active workspace member."""
        out = {p.id: "has no Slack account linked" for p in people if not p.platform_id("slack")}
        members = await self.members()
        if members is not None:
            for p in people:
                user_id = p.platform_id("slack")
                if user_id and user_id not in members:
                    out[p.id] = "is not in the workspace"
        return out

    async def members(self) -> set[str] | None:
        """Ids of the workspace's active members (``users.list``, a page per 1,000 people, trusted for
        :data:`MEMBERS_TTL`); ``None`` if Slack would not say (logged)."""
        if self._members is not None and time.monotonic() - self._members[0] < MEMBERS_TTL:
            return self._members[1]
        found: set[str] = set()
        cursor: str | None = None
        try:
            while True:
                page = await self.client.users_list(limit=MEMBERS_PAGE, cursor=cursor)
                found.update(m["id"] for m in page.get("members") or [] if not m.get("deleted"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except Exception as exc:
            log.warning("users.list failed, so I cannot tell who is in the workspace: %s", exc)
            return None
        self._members = (time.monotonic(), found)
        return found

    async def channel_for(self, target: Target) -> str:
        """The Slack channel id to post ``target`` to."""
        if isinstance(target, DMTarget):
            person = await self.app.people.get(target.person_id)
            if person is None:
                raise PermanentSendError(f"no person with id {target.person_id}", REMOVED)
            user_id = person.platform_id("slack")
            if not user_id:
                raise PermanentSendError(f"{person.name} has not linked a Slack account", NOT_LINKED)
            return user_id
        if isinstance(target, ChannelTarget):
            return await self.channel_id(target.channel)
        raise PermanentSendError(f"unknown target {target!r}")

    async def channel_id(self, name: str) -> str:
        """The id of the channel called ``name`` (``#`` optional), from a cached ``conversations.list``."""
        name = name.lstrip("#")
        if name.startswith(("C", "G")) and name.isupper() and name.isalnum():
            return name  # already an id
        async with self._lock:
            if name not in self._channels:
                self._channels = await call("conversations.list", self._list_channels, within=self.timeout)
        if name not in self._channels:
            raise PermanentSendError(f"no Slack channel called #{name} (or the bot cannot see it)", CHANNEL_MISSING)
        return self._channels[name]

    async def _list_channels(self) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            page = await self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
            )
            for channel in page.get("channels", []):
                found[channel["name"]] = channel["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found
