"""People: the roster's domain types. Storage returns them; the core and features use them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.core.roles import Role


@dataclass(frozen=True)
class Person:
    """Someone on the roster, with the accounts they have linked on each platform (``identities``)."""

    id: int
    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    identities: Mapping[str, str] = field(default_factory=dict, hash=False)
    timezone: str | None = None
    stipend_eligible: bool = True

    def platform_id(self, platform: str) -> str | None:
        """This person's user id on ``platform``, if they have linked an account there."""
        return self.identities.get(platform)

    def zone(self, fallback: ZoneInfo) -> ZoneInfo:
        """This person's own time zone, else ``fallback`` (the cohort's)."""
        return ZoneInfo(self.timezone) if self.timezone else fallback

    def in_section(self, section: str) -> bool:
        """Whether this person belongs to (or runs) ``section``."""
        return section.casefold() in {s.casefold() for s in self.sections}


@dataclass(frozen=True)
class PersonInput:
    """A roster row to upsert (keyed by email). ``identities`` maps a platform to a user id; a platform left out
    keeps whatever account is already linked there."""

    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    identities: Mapping[str, str] = field(default_factory=dict, hash=False)
    timezone: str | None = None
    stipend_eligible: bool = True
