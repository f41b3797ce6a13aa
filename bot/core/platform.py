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


# What a permanent failure means, in the core's words: a sender classifies its platform's error codes into one of
# these (``PermanentSendError.kind``), so features word reports from the kind and never name a platform's codes.
DMS_CLOSED = "dms_closed"  # the person takes no DMs from the bot (their settings; on some platforms: or left)
NOT_MEMBER = "not_member"  # not (or no longer) a member of the server or workspace
DEACTIVATED = "deactivated"  # their account there is deactivated
NOT_LINKED = "not_linked"  # no account linked on this platform
REMOVED = "removed"  # removed from the roster (or never on it)
CHANNEL_MISSING = "channel_missing"  # the channel does not exist, or the bot cannot see or post in it
EXPIRED = "expired"  # not delivered within the outbox's maximum age (the platform was down)
FAILURE_KINDS = frozenset({DMS_CLOSED, NOT_MEMBER, DEACTIVATED, NOT_LINKED, REMOVED, CHANNEL_MISSING, EXPIRED})


class PermanentSendError(SendError):
    """Retrying will not help (unknown channel, DMs closed, no platform id).

    ``kind`` is what it means, if the sender can tell: one of :data:`FAILURE_KINDS` (``None``: something else; the
    ``reason`` says what). The outbox stores it with the failed row (``failure_kind``).
    """

    def __init__(self, reason: str, kind: str | None = None) -> None:
        super().__init__(reason)
        if kind is not None and kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}")
        self.kind = kind


class UnknownOutcomeError(TransientSendError):
    """The request went out but no answer came back (a timeout, or the connection dropped after sending).

    The platform may have posted the message. Before sending it again, the outbox asks the sender's
    ``delivered()`` where it has one; otherwise it resends with the same key (Discord's nonce makes that safe).
    """


class FatalPlatformError(RuntimeError):
    """The platform refused the bot for good (bad token, disallowed intents): the message says what to fix."""


@dataclass(frozen=True)
class SendRate:
    """How fast a sender may send, enforced by the outbox worker's pacer (in real time).

    * ``per_second``: the platform-wide budget (Discord's global limit; Slack's workspace-wide limit), or
      ``None`` for unpaced (the console).
    * ``per_channel``: each conversation's own budget (Slack: about 1 message a second per channel, and each DM
      is its own channel), or ``None``.
    * ``adaptive``: a 429 also lowers ``per_second`` for a while (Slack does not publish its workspace limit);
      it climbs back to ``per_second`` while no 429 comes.
    """

    per_second: float | None = None
    per_channel: float | None = None
    adaptive: bool = False


class Sender(Protocol):
    """A platform's outgoing side, used by the outbox worker (``bot/delivery/``).

    * ``rate``: how fast the worker may send (the sender's own settings: the worker builds none).
    * ``send``: one message; failures are :class:`PermanentSendError` (fail the row),
      :class:`TransientSendError` (retry later; ``retry_after`` for a 429), or :class:`UnknownOutcomeError`
      (maybe posted: check before resending). The sender's client must not retry on its own where a retry
      could post twice.
    * ``delivered`` (optional, looked up with ``getattr``; Slack has it, since Slack has no idempotency key)::

          async def delivered(self, target: Target, key: str, since: datetime) -> str | None: ...

      The id of the message sent with ``key`` to ``target`` at or after ``since`` (an aware UTC datetime, real
      time: just before the first send whose outcome is unknown), or ``None`` if there is none. A
      :class:`TransientSendError` means "cannot tell now" (asked again later; never resent meanwhile); a
      :class:`PermanentSendError` (say, a missing scope) means "can never tell": the row is resent, with a warning.
    * ``run_task`` (optional, looked up with ``getattr`` too): do a :class:`PlatformTask`::

          async def run_task(self, task: PlatformTask, *, key: str) -> str | None: ...

      It must be idempotent (a retry after a crash, or after an unknown outcome, runs it again: tasks are never
      looked up) and raise the same send errors; a kind it does not know is a :class:`PermanentSendError`. A
      sender that does some kinds for real (not just prints them) lists them in an optional
      ``task_kinds: frozenset[str]``, so features enqueue only work that will be done.

    * ``unreachable`` (optional, looked up with ``getattr`` too; without it, everyone counts as reachable): which
      roster people it cannot reach at all::

          async def unreachable(self, people: Sequence[Person]) -> dict[int, str]: ...

      It maps the person id of each one it cannot reach to why, worded to follow a count and in the singular
      ("has no Slack account linked", "is not in the workspace"); it must cost about one request per page of
      members, never one per person, and say nothing about what it cannot tell.
    """

    platform: str
    rate: SendRate

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Deliver ``message``; ``key`` is the outbox idempotency key (a stable nonce). Return the message id."""
        ...


class LinkError(Exception):
    """A :class:`Linker` cannot look anyone up (a missing permission, a revoked token): ``reason`` says what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Linker(Protocol):
    """A platform's directory of accounts, for linking people to the roster without asking for their ids.

    A running platform that can see its members' emails puts one in ``app.linkers[platform]`` (Slack does, with
    ``users.lookupByEmail``, ``users.info`` and ``users.list``). The methods pace themselves to the platform's
    limits and wait out rate limits; they raise :class:`LinkError` when no lookup can succeed (e.g. a missing
    scope).

    * ``directory`` (optional, looked up with ``getattr``): every active member's email at once, for linking the
      whole roster::

          async def directory(self) -> dict[str, str]: ...

      It maps each email (case-folded) to its account's user id, reading the member list a page at a time (on
      Slack, ``users.list``: a call per 1,000 members), so that linking 20,000 people costs a few dozen calls,
      not one lookup each. Without it, the roster is looked up one email at a time with :meth:`find_by_email`.
    """

    platform: str

    async def find_by_email(self, email: str) -> str | None:
        """The user id of the (active, human) account with ``email``, or ``None`` if there is none."""
        ...

    async def email_of(self, user_id: str) -> str | None:
        """The email of the account ``user_id``, or ``None`` if it has none visible to the bot."""
        ...


def does_task(sender: object | None, kind: str) -> bool:
    """Whether ``sender`` (a platform's :class:`Sender`) does :class:`PlatformTask` s of ``kind`` (``task_kinds``)."""
    return kind in getattr(sender, "task_kinds", ()) and callable(getattr(sender, "run_task", None))


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
