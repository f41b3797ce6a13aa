"""What the core needs from a platform to speak on its own: send a message to a channel or a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.messages import Message


@dataclass(frozen=True)
class ChannelTarget:
    """A channel named in the cohort file (e.g. ``intro-course``); the platform resolves the name."""

    channel: str

    def describe(self) -> str:
        """``#name``."""
        return f"#{self.channel}"


@dataclass(frozen=True)
class DMTarget:
    """A direct message to someone on the roster."""

    person_id: int

    def describe(self) -> str:
        """``dm:<id>``."""
        return f"dm:{self.person_id}"


@dataclass(frozen=True)
class PlatformTask:
    """Something the bot does on a platform on its own that is not a message: sync a member's server roles,
    create or update a scheduled event, invite someone to a channel.

    It goes through the outbox like a message (durable, keyed, paced, retried), with this as its target. ``kind``
    names the work (e.g. ``"member_roles"``); ``data`` is JSON-serialisable. A platform's sender does the kinds it
    knows in ``run_task`` (see :class:`Sender`); any other kind fails for good there, with the reason.
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def describe(self) -> str:
        """``task:<kind>``."""
        return f"task:{self.kind}"


Target = ChannelTarget | DMTarget | PlatformTask


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do, as far as features need to know (so features never name a platform).

    ``label`` names it to people ("Discord"); ``files`` says commands can carry uploaded files; ``id_hint``
    says what a user id looks like there, for messages that ask someone for theirs.
    """

    label: str = "this app"
    files: bool = False
    id_hint: str = "user id"


class SendError(Exception):
    """A delivery failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Worth retrying (rate limit, timeout, 5xx); ``retry_after`` in seconds if the platform said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying will not help (unknown channel, DMs closed, no platform id)."""


class Sender(Protocol):
    """A platform's outgoing side, used by the outbox worker.

    Optionally a sender can also tell whether a message reached the platform, so that crash recovery does not
    send it twice where the platform has no idempotency key (Slack). The worker looks it up with ``getattr``;
    it is not part of this protocol's required surface::

        async def delivered(self, target: Target, key: str, since: datetime) -> str | None: ...

    It returns the id of the message sent with ``key`` to ``target`` at or after ``since`` (an aware UTC
    datetime, real time: just before the send was attempted), or ``None`` if there is none; an exception means
    "unknown" (the row is sent again).

    Only senders with ``delivered`` get rows marked ``in_flight_at`` before each send (see ``bot/outbox_worker.py``).

    A sender may also do :class:`PlatformTask` s (looked up with ``getattr`` too)::

        async def run_task(self, task: PlatformTask, *, key: str) -> str | None: ...

    It must be idempotent (a retry after a crash runs it again) and raise the same send errors; a kind it does
    not know is a :class:`PermanentSendError`.

    And a sender may say which roster people it cannot reach at all (looked up with ``getattr`` too; without it,
    everyone counts as reachable)::

        async def unreachable(self, people: Sequence[Person]) -> dict[int, str]: ...

    It maps the person id of each one it cannot reach to why, worded to follow a count and in the singular
    ("has no Slack account linked", "is not in the workspace"); it must cost about one request per page of
    members, never one per person, and say nothing about what it cannot tell.
    """

    platform: str

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Deliver ``message``; ``key`` is the outbox idempotency key (a stable nonce). Return the message id."""
        ...


class PlatformRunner(Protocol):
    """A running platform adapter (Discord, Slack, console): ``start`` also puts its sender in ``app.senders``."""

    name: str

    async def start(self) -> None:
        """Connect, register commands, and begin answering."""
        ...

    async def stop(self) -> None:
        """Disconnect cleanly (idempotent)."""
        ...

    async def wait(self) -> None:
        """Return when the platform has stopped."""
        ...
