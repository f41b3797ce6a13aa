"""Who is asking, where, and when: the neutral context every handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.commands import Command
from bot.core.errors import PermissionDenied
from bot.core.people import Person
from bot.core.platform import Capabilities
from bot.core.roles import Role

if TYPE_CHECKING:
    from bot.app import CohortBot


@dataclass(frozen=True)
class Actor:
    """A platform user as the adapter sees them; the core maps them to a roster entry.

    * ``granted_role``: a role the platform itself grants this user (e.g. a Discord server role the cohort file
      maps to organizer); the person acts with the higher of it and their roster role.
    * ``person_id``: set only by an adapter that already knows which roster person is acting (the console,
      where one types commands as a chosen person); otherwise the person is found by ``(platform, user_id)``.
    * ``caps``: what the platform can do (for wording and usage lines).
    """

    platform: str
    user_id: str
    display_name: str = ""
    granted_role: Role | None = None
    person_id: int | None = None
    caps: Capabilities = field(default_factory=Capabilities)


@dataclass(frozen=True)
class Place:
    """Where the command was typed."""

    channel_id: str | None = None
    channel_name: str | None = None
    is_dm: bool = False


@dataclass
class Context:
    """Everything a handler needs: the app, the person and their role, the place, and the time.

    ``guest``: the asker is not on the roster (only commands declared ``anyone`` run so); ``person`` is then a
    stand-in (:meth:`Person.guest`, id 0) carrying their display name, and ``role`` the lowest.
    """

    app: CohortBot
    actor: Actor
    person: Person
    role: Role
    place: Place
    now: datetime
    command: Command | None = None
    clicked: bool = False  # run by a button or a select, not typed
    guest: bool = False  # not on the roster: see the class docstring
    _sections: list[str] | None = field(default=None, repr=False)

    @property
    def cohort(self):  # noqa: ANN201 - Cohort, imported lazily to keep the core import-light
        """The cohort being run."""
        return self.app.cohort

    @property
    def zone(self) -> ZoneInfo:
        """The person's own zone, or the cohort's."""
        return self.person.zone(self.app.cohort.zone)

    @property
    def own_sections(self) -> list[str]:
        """Sections this person runs, by the one rule (:func:`bot.membership.sections_run_by`): organizers run
        none unless the roster or the cohort file gives them one."""
        if self._sections is None:
            from bot.membership import sections_run_by  # lazily, as the cohort: the core stays import-light

            self._sections = sections_run_by(self.app.cohort, self.person, self.role)
        return self._sections

    def may_manage_section(self, section: str) -> bool:
        """Organizers manage every section; facilitators their own."""
        return self.role >= Role.ORGANIZER or section.casefold() in {s.casefold() for s in self.own_sections}

    def may_manage_person(self, other: Person) -> bool:
        """Organizers manage everyone; facilitators the people in their sections; anyone themselves."""
        if self.role >= Role.ORGANIZER or other.id == self.person.id:
            return True
        return self.role >= Role.FACILITATOR and any(self.may_manage_section(s) for s in other.sections)

    def require_section(self, section: str) -> None:
        """Raise :class:`PermissionDenied` unless this person may manage ``section``."""
        if not self.may_manage_section(section):
            mine = ", ".join(self.own_sections) or "none"
            raise PermissionDenied(
                f"You can only do that for your own sections ({mine}); {section} is not one of them."
            )

    def require_person(self, other: Person) -> None:
        """Raise :class:`PermissionDenied` unless this person may act on ``other``."""
        if not self.may_manage_person(other):
            raise PermissionDenied(f"{other.name} is not in one of your sections, so you cannot do that for them.")
