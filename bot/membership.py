"""Who belongs to and who runs each section, and what a person's platform membership should be.

* Who runs a section (one rule, used by every feature): someone still on the roster who either has the
  facilitator role or higher and the section among their roster sections, or is named in the section's
  ``facilitators`` in the cohort file, by email or by exact name. Names and emails are compared as SQLite's
  ``NOCASE`` compares them (ASCII letters without case), so the database and this module agree. Two ways in,
  the same answer: :func:`sections_run_by` for one person (no query), :func:`section_runners` and
  :func:`runners` for sections or the whole course (a few queries, whatever the roster's size).
* Platform membership: :func:`wanted`, one pure function used by both sides: the roster feature (which queues a
  sync when the answer changes) and the platform senders (which compute it again when they run the sync, from
  the roster as it is then, so that sync tasks done late or out of order still leave each member as the roster
  says).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.cohort import Cohort
from bot.core.people import Person
from bot.core.roles import Role

if TYPE_CHECKING:
    from bot.app import CohortBot

CHUNK = 900  # values per IN (...) list, under SQLite's limit on parameters
RUNNER_ROLES = tuple(r.label for r in Role if r >= Role.FACILITATOR)  # roles that run their roster sections
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """``text`` as SQLite's ``NOCASE`` compares it (trimmed, ASCII letters lower-cased)."""
    return text.strip().translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Named:
    """Who the cohort file names as facilitators: folded email or name -> their sections (the file's spelling)."""

    emails: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def sections_of(self, person: Person) -> tuple[str, ...]:
        """The sections whose ``facilitators`` name ``person`` (by email or by exact name)."""
        return self.emails.get(fold(person.email), ()) + self.names.get(fold(person.name), ())


_NAMED: dict[int, tuple[Cohort, Named]] = {}


def named_in_file(cohort: Cohort) -> Named:
    """The cohort file's facilitators, indexed once per cohort (800 sections, 20,000 lookups)."""
    cached = _NAMED.get(id(cohort))
    if cached is not None and cached[0] is cohort:
        return cached[1]
    emails: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for section in cohort.sections:
        for entry in section.facilitators:
            key = fold(entry)
            if key:
                found = (emails if "@" in key else names).setdefault(key, [])
                if section.name not in found:
                    found.append(section.name)
    named = Named({k: tuple(v) for k, v in emails.items()}, {k: tuple(v) for k, v in names.items()})
    _NAMED.clear()  # one cohort at a time (a reload replaces it)
    _NAMED[id(cohort)] = (cohort, named)
    return named


def sections_run_by(cohort: Cohort, person: Person, role: Role) -> list[str]:
    """The sections ``person`` runs, acting with ``role`` (see the module's rule), sorted; none once removed."""
    if person.removed:
        return []
    found: dict[str, None] = {}
    if role >= Role.FACILITATOR:
        for name in person.sections:  # the file's spelling; a section the file no longer has, as the roster has it
            section = cohort.section(name)
            found[section.name if section is not None else name] = None
    found.update(dict.fromkeys(named_in_file(cohort).sections_of(person)))
    return sorted(found)


async def runners(app: CohortBot, sections: Iterable[str] | None = None) -> list[tuple[Person, list[str]]]:
    """Everyone who runs one of ``sections`` (default: any section), by name, each with every section they run.

    A few queries whatever the roster's size: the people with a runner's role and a roster section among these
    (SQL), the people the file names for them (SQL), then those people at once (``get_many``); each is then
    judged by :func:`sections_run_by` itself, so a list and a person's own view cannot disagree.
    """
    cohort = app.cohort
    wanted = None if sections is None else {s.name for name in sections if (s := cohort.section(name)) is not None}
    if wanted is not None and not wanted:
        return []
    roles = ", ".join("?" * len(RUNNER_ROLES))
    active = f"p.removed_at IS NULL AND p.role IN ({roles})"
    ids: set[int] = set()
    if wanted is None:
        rows = await app.db.fetchall(
            f"SELECT DISTINCT ps.person_id FROM person_sections ps JOIN people p ON p.id = ps.person_id WHERE {active}",
            RUNNER_ROLES,
        )
        ids |= {r["person_id"] for r in rows}
    else:
        names = sorted(wanted)
        for start in range(0, len(names), CHUNK):
            chunk = names[start : start + CHUNK]
            rows = await app.db.fetchall(  # person_sections.section is COLLATE NOCASE, and indexed
                "SELECT DISTINCT ps.person_id FROM person_sections ps JOIN people p ON p.id = ps.person_id"
                f" WHERE ps.section IN ({', '.join('?' * len(chunk))}) AND {active}",
                [*chunk, *RUNNER_ROLES],
            )
            ids |= {r["person_id"] for r in rows}
    named = named_in_file(cohort)
    for column, index in (("email", named.emails), ("name", named.names)):
        keys = sorted(k for k, found in index.items() if wanted is None or wanted.intersection(found))
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            rows = await app.db.fetchall(
                f"SELECT id FROM people WHERE {column} COLLATE NOCASE IN ({', '.join('?' * len(chunk))})"
                " AND removed_at IS NULL",
                chunk,
            )
            ids |= {r["id"] for r in rows}
    out = []
    for person in sorted((await app.people.get_many(ids)).values(), key=lambda p: (p.name.casefold(), p.id)):
        mine = sections_run_by(cohort, person, person.role)
        if mine and (wanted is None or wanted.intersection(mine)):
            out.append((person, mine))
    return out


async def section_runners(app: CohortBot, sections: Iterable[str] | None = None) -> dict[str, list[Person]]:
    """Who runs each of ``sections`` (default: every section), by the cohort file's spelling of the section;
    each list by name. A section nobody runs is left out. See :func:`runners` for the cost."""
    wanted = None if sections is None else {s.name for name in sections if (s := app.cohort.section(name))}
    out: dict[str, list[Person]] = {}
    for person, mine in await runners(app, wanted):
        for name in mine:
            if wanted is None or name in wanted:
                out.setdefault(name, []).append(person)
    return out


@dataclass(frozen=True)
class Membership:
    """Server roles and channels (by name) someone should have."""

    roles: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def signature(self, user_id: str | None) -> str:
        """A stable text for "this account should have exactly this" (what the sync state remembers)."""
        return f"user={user_id or ''};roles={','.join(sorted(self.roles))};channels={','.join(sorted(self.channels))}"


NOTHING = Membership()


def sections_of(cohort: Cohort, person: Person, role: Role | None = None) -> list[str]:
    """The sections of the cohort file ``person`` belongs to or runs (acting with ``role``, default their roster
    role): their roster sections and the sections they run (:func:`sections_run_by`), in the file's spelling."""
    mine = [*person.sections, *sections_run_by(cohort, person, person.role if role is None else role)]
    return sorted({s.name for name in mine if (s := cohort.section(name)) is not None})


def wanted(cohort: Cohort, person: Person | None) -> Membership:
    """The roles and channels ``person`` should have (nothing for someone removed or unknown)."""
    if person is None or person.removed:
        return NOTHING
    rules = cohort.roster.sync
    roles: set[str] = set()
    channels: set[str] = set()
    if person.role.label in rules.roles:
        roles.add(rules.roles[person.role.label])  # type: ignore[index]
    if person.track:
        if rules.track_role:
            roles.add(rules.track_role.format(track=person.track))
        if rules.channels and cohort.channel_for(person.track):
            channels.add(str(cohort.channel_for(person.track)))
    for name in sections_of(cohort, person):
        meeting = cohort.section(name)
        if meeting is None:
            continue
        if rules.section_role and (meeting.channel or "{channel}" not in rules.section_role):
            roles.add(rules.section_role.format(track=meeting.track, section=meeting.name, channel=meeting.channel))
        if rules.channels and meeting.channel:
            channels.add(meeting.channel)
    return Membership(frozenset(r for r in roles if r.strip()), frozenset(channels))


def managed_roles(cohort: Cohort) -> frozenset[str]:
    """Every role the sync rules can hand out: the ones the bot may also take away again."""
    rules = cohort.roster.sync
    names = set(rules.roles.values())
    if rules.track_role:
        names |= {rules.track_role.format(track=t) for t in cohort.track_names}
    if rules.section_role:
        for s in cohort.sections:
            if s.channel or "{channel}" not in rules.section_role:
                names.add(rules.section_role.format(track=s.track, section=s.name, channel=s.channel))
    return frozenset(n for n in names if n.strip())
