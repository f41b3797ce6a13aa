"""People: the roster's domain types. Storage returns them; the core and features use them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.roles import Role


@dataclass(frozen=True)
class Person:
    """Someone on the roster, with the accounts they have linked on each platform (``identities``).

    ``removed_at``: when an organizer took them off the roster. A removed person keeps their history (it stays in
    exports) but may no longer use the bot; listings of the roster leave them out unless asked.
    """

    id: int
    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    identities: Mapping[str, str] = field(default_factory=dict, hash=False)
    timezone: str | None = None
    stipend_eligible: bool = True
    removed_at: datetime | None = None

    @property
    def removed(self) -> bool:
        """Whether an organizer took this person off the roster."""
        return self.removed_at is not None

    def platform_id(self, platform: str) -> str | None:
        """This person's user id on ``platform``, if they have linked an account there."""
        return self.identities.get(platform)

    def zone(self, fallback: ZoneInfo) -> ZoneInfo:
        """This person's own time zone, else ``fallback`` (the cohort's)."""
        return ZoneInfo(self.timezone) if self.timezone else fallback

    def in_section(self, section: str) -> bool:
        """Whether this person belongs to (or runs) ``section``."""
        return section.casefold() in {s.casefold() for s in self.sections}

    @classmethod
    def guest(cls, name: str = "") -> Person:
        """Someone the roster does not know (yet), for commands open to anyone (id 0, never stored)."""
        return cls(id=GUEST_ID, name=name or "guest", email="", role=Role.SCHOLAR)


GUEST_ID = 0  # the id of Person.guest(): no roster row has it (SQLite ids start at 1)


@dataclass(frozen=True)
class PersonInput:
    """A roster row to upsert (keyed by email). ``identities`` maps a platform to a user id; a platform left out
    keeps whatever account is already linked there. ``removed``: ``True`` (now) or a time takes the person off the
    roster (keeping their history), ``False`` puts them back, ``None`` (the default) leaves that as it is."""

    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    identities: Mapping[str, str] = field(default_factory=dict, hash=False)
    timezone: str | None = None
    stipend_eligible: bool = True
    removed: bool | datetime | None = None
