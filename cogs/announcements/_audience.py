"""Who an announcement is for: reading ``to``, who may announce to whom, the people (in a few SQL queries, never
one per person), the channel a post goes to, and who the platform cannot reach.

``to`` is one of ``all``, ``scholars``, ``facilitators``, ``organizers``, ``track:<name>``, ``section:<name>`` or
``people:<names, emails or mentions separated by commas>`` (an ambiguous name is refused, saying who it could be).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.commands import Choice
from bot.core.errors import PermissionDenied, UserError
from bot.core.options import resolve_people
from bot.core.people import Person
from bot.core.roles import Role
from cogs.announcements._store import repo

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.cohort import Cohort
    from bot.core.context import Context

log = logging.getLogger(__name__)
ROLES = {"scholars": Role.SCHOLAR, "facilitators": Role.FACILITATOR, "organizers": Role.ORGANIZER}
ALIASES = {
    "all": "all",
    "everyone": "all",
    "everybody": "all",
    "scholar": "scholars",
    "scholars": "scholars",
    "facilitator": "facilitators",
    "facilitators": "facilitators",
    "organizer": "organizers",
    "organizers": "organizers",
}
PEOPLE_WORDS = ("people", "person", "user", "users")


@dataclass(frozen=True)
class Audience:
    """An understood ``to``: ``kind`` is all, scholars, facilitators, organizers, track, section or people."""

    kind: str
    value: str | None = None  # the track or section name
    people: tuple[Person, ...] = ()  # for kind "people"

    @property
    def spec(self) -> str:
        """How it is stored: ``all``, ``track:intro``, ``section:europe-wed``, ``people``."""
        return f"{self.kind}:{self.value}" if self.value else self.kind

    @property
    def label(self) -> str:
        """The audience in words, for previews, footers and reports."""
        if self.kind == "all":
            return "everyone"
        if self.kind in ROLES:
            return f"all {self.kind}" if self.kind != "organizers" else "the organizers"
        if self.kind == "track":
            return f"the {self.value} track"
        if self.kind == "section":
            return f"section {self.value}"
        names = [p.name for p in self.people]
        if len(names) <= 3:
            return ", ".join(names)
        return f"{', '.join(names[:2])} and {len(names) - 2} others"


def forms(cohort: Cohort) -> str:
    """Every way to write ``to``, with this cohort's tracks and sections."""
    tracks = ", ".join(cohort.track_names) or "none"
    sections = ", ".join(s.name for s in cohort.sections) or "none"
    return (
        f"all, scholars, facilitators, organizers, track:<name> ({tracks}), section:<name> ({sections}), "
        "or people:<names separated by commas>"
    )


async def parse_to(ctx: Context, text: str) -> Audience:
    """Read ``to``; a :class:`UserError` says what was wrong and what it may be."""
    cohort = ctx.cohort
    raw = text.strip()
    word = raw.casefold()
    if word in ALIASES:
        return Audience(ALIASES[word])
    kind, colon, rest = raw.partition(":")
    kind, rest = kind.strip().casefold(), rest.strip()
    if colon and kind == "track":
        track = next((t for t in cohort.track_names if t.casefold() == rest.casefold()), None)
        if track is None:
            raise UserError(f"There is no track {rest!r}: tracks are {', '.join(cohort.track_names)}.", field="to")
        return Audience("track", track)
    if colon and kind == "section":
        section = cohort.section(rest)
        if section is None:
            names = ", ".join(s.name for s in cohort.sections) or "none"
            raise UserError(f"There is no section {rest!r}: sections are {names}.", field="to")
        return Audience("section", section.name)
    if colon and kind in PEOPLE_WORDS:
        if not rest:
            raise UserError("people: needs names, emails or mentions, separated by commas.", field="to")
        named = await resolve_people(ctx, rest, "to", removed_ok=True)  # refused below, in its words
        gone = [p.name for p in named if p.removed]
        if gone:
            raise UserError(
                f"{', '.join(gone)} {'was' if len(gone) == 1 else 'were'} removed from the roster, so I cannot tell "
                "them anything here: leave them out.",
                field="to",
            )
        return Audience("people", people=named)
    hint = ""
    if cohort.section(raw) is not None:
        hint = f" Did you mean to:section:{cohort.section(raw).name}?"  # type: ignore[union-attr]
    elif raw in cohort.track_names:
        hint = f" Did you mean to:track:{raw}?"
    raise UserError(f"I don't understand to:{raw}. It can be {forms(cohort)}.{hint}", field="to")


def default_audience(ctx: Context) -> Audience:
    """Without ``to``: everyone for organizers; a facilitator's one section (several: they must say which)."""
    if ctx.role >= Role.ORGANIZER:
        return Audience("all")
    mine = ctx.own_sections
    if len(mine) == 1:
        return Audience("section", mine[0])
    choices = ", ".join(f"to:section:{s}" for s in mine) or "none (you run no section)"
    raise UserError(f"Say which of your sections this is for: {choices}.", field="to")


def check_allowed(ctx: Context, audience: Audience) -> None:
    """Organizers may announce to anyone; facilitators only to their own sections (or people in them)."""
    if ctx.role >= Role.ORGANIZER:
        return
    mine = ctx.own_sections
    if audience.kind == "section":
        ctx.require_section(audience.value or "")
    elif audience.kind == "people":
        for person in audience.people:
            ctx.require_person(person)
    else:
        use = f" Use to:section:{mine[0]}." if len(mine) == 1 else ""
        raise PermissionDenied(
            f"Facilitators can announce only to their own sections ({', '.join(mine) or 'none'}), not to "
            f"{audience.label}.{use} For anyone else, ask an organizer."
        )


async def members(app: CohortBot, audience: Audience) -> list[Person]:
    """Everyone the audience means who is still on the roster, by name (a few queries whatever its size)."""
    people = app.people
    if audience.kind == "all":
        found = await people.all()
    elif audience.kind in ROLES:
        found = await people.with_role(ROLES[audience.kind])
    elif audience.kind == "track":
        found = list((await people.get_many(await repo(app).ids_on_track(audience.value or ""))).values())
    elif audience.kind == "section":
        found = await people.in_section(audience.value or "")
        named = app.cohort.section(audience.value or "")
        emails = [f for f in (named.facilitators if named else []) if "@" in f]
        extra = [p for p in [await people.by_email(e) for e in emails] if p is not None]  # a section's few
        found = [*found, *(p for p in extra if p.id not in {f.id for f in found})]
    else:
        found = list(audience.people)
    # Someone removed from the roster is gone: never in an audience, however it was named (a track, a section's
    # facilitator by email, people:...).
    return sorted((p for p in found if not p.removed), key=lambda p: p.name.casefold())


def channel_for(cohort: Cohort, audience: Audience) -> str:
    """The channel a post for ``audience`` goes to; a :class:`UserError` naming the setting if there is none."""
    settings = cohort.announcements
    if audience.kind in ("all", "scholars"):
        channel, setting = settings.channel, "announcements.channel"
    elif audience.kind == "facilitators":
        channel, setting = settings.facilitators_channel, "announcements.facilitators_channel"
    elif audience.kind == "organizers":
        channel, setting = settings.organizers_channel, "announcements.organizers_channel"
    elif audience.kind == "track":
        channel, setting = cohort.channel_for(audience.value or ""), f"posting.channels.{audience.value}"
    elif audience.kind == "section":
        section = cohort.section(audience.value or "")
        channel, setting = (section.channel if section else None), f"sections[{audience.value}].channel"
    else:
        raise UserError("An announcement to chosen people goes to each of them by DM: leave dm out, or dm:true.")
    if not channel:
        raise UserError(
            f"There is no channel for {audience.label} in the cohort file ({setting}), so I can only send this "
            "as DMs: add dm:true.",
            field="dm",
        )
    return channel.lstrip("#")


async def unreachable(app: CohortBot, people: Sequence[Person]) -> dict[int, str]:
    """Person id -> why the platform cannot reach them (its sender's optional ``unreachable``; none without)."""
    sender = app.senders.get(app.platform)
    check = getattr(sender, "unreachable", None)
    if check is None or not people:
        return {}
    try:
        return dict(await check(people))
    except Exception:
        log.exception("could not ask the platform who it cannot reach; counting everyone as reachable")
        return {}


async def suggest_to(ctx: Context, current: str) -> list[Choice]:
    """Autocomplete for ``to``: what this person may announce to (names after ``people:``)."""
    typed = current.strip()
    kind, colon, rest = typed.partition(":")
    if colon and kind.casefold() in PEOPLE_WORDS:
        before, _, last = rest.rpartition(",")
        lead = f"people:{before.strip()}, " if before.strip() else "people:"
        found = await ctx.app.people.by_name(last.strip(), limit=25) if last.strip() else []
        found = [p for p in found if ctx.may_manage_person(p)]
        return [Choice(p.name, f"{lead}{p.name}"[:100]) for p in found]
    if ctx.role >= Role.ORGANIZER:
        values = ["all", "scholars", "facilitators", "organizers"]
        values += [f"track:{t}" for t in ctx.cohort.track_names] + [f"section:{s.name}" for s in ctx.cohort.sections]
    else:
        values = [f"section:{s}" for s in ctx.own_sections]
    values.append("people:")
    return [Choice(v, v) for v in values if typed.casefold() in v.casefold()][:25]
