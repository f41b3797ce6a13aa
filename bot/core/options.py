"""Turning raw option values (text from Slack or the console, typed values from Discord) into typed ones."""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from bot.core.clock import END_OF_DAY, LAST_YEAR, date_only, utc
from bot.core.commands import Choice, Option, OptionType
from bot.core.errors import OptionError, UserError
from bot.core.messages import Attachment, excerpt
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.zones import is_zone, matching_zones, suggest_zone

if TYPE_CHECKING:
    from bot.core.context import Context

MAX_URL = 2000
TRUE = {"true", "yes", "y", "1", "on"}
FALSE = {"false", "no", "n", "0", "off"}
MENTION_RE = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")
MENTIONS_RE = re.compile(r"<@!?[A-Za-z0-9]+(?:\|[^>]*)?>")
ROSTER_REF_RE = re.compile(r"^#\d{1,12}$")
PEOPLE_SEPARATORS = re.compile(r"[,;\n]")
MAX_PEOPLE = 1000
DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


async def parse_option(ctx: Context, option: Option, raw: Any) -> Any:
    """Parse and check one value; raise :class:`OptionError` saying what is wrong."""
    kind = option.type
    if isinstance(raw, list | tuple) and kind is not OptionType.PEOPLE:
        raw = ",".join(str(v) for v in raw)  # a select's values for an option that takes one text
    if kind is OptionType.FILE:
        if not isinstance(raw, Attachment):
            raise OptionError(f"{option.name} must be an uploaded file.", field=option.name)
        return raw
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            raise OptionError(f"{option.name} needs a value.", field=option.name)
    if option.choices:
        allowed = {str(c.value).casefold(): c.value for c in option.choices}
        key = str(raw).casefold()
        if key not in allowed:
            names = ", ".join(str(c.value) for c in option.choices)
            raise OptionError(f"{option.name} must be one of: {names}.", field=option.name)
        raw = allowed[key]
    match kind:
        case OptionType.STRING:
            text = str(raw)
            if option.max_length is not None and len(text) > option.max_length:
                raise OptionError(
                    f"{option.name} is too long ({len(text)} characters; the limit is {option.max_length}).",
                    field=option.name,
                )
            return text
        case OptionType.INTEGER:
            return _integer(option, raw)
        case OptionType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            word = str(raw).casefold()
            if word in TRUE:
                return True
            if word in FALSE:
                return False
            raise OptionError(f"{option.name} must be true or false.", field=option.name)
        case OptionType.WEEK:
            number = _integer(option, raw, what="a week number")
            last = len(ctx.app.cohort.weeks)
            if ctx.app.cohort.week(number) is None:
                raise OptionError(f"There is no week {number}: this cohort has weeks 1–{last}.", field=option.name)
            return number
        case OptionType.SECTION:
            meeting = ctx.app.cohort.section(str(raw))
            if meeting is None and str(raw).startswith(SECTION_KEY_PREFIX):  # a button's key (bot.cohort.section_key)
                raise OptionError(
                    "That section is no longer in the cohort file (renamed or removed since this was shown): "
                    "run the command again.",
                    field=option.name,
                )
            if meeting is None:
                names = ", ".join(s.name for s in ctx.app.cohort.sections) or "none"
                raise OptionError(f"There is no section called {excerpt(raw)}. Sections: {names}.", field=option.name)
            if option.own_sections and ctx.role < Role.ORGANIZER:
                ctx.require_section(meeting.name)
            return meeting.name
        case OptionType.PERSON:
            person = await resolve_person(ctx, str(raw), option.name, removed_ok=option.removed_ok)
            if option.own_sections:
                ctx.require_person(person)
            return person
        case OptionType.PEOPLE:
            people = await resolve_people(ctx, raw, option.name, removed_ok=option.removed_ok)
            if option.own_sections:
                for person in people:
                    ctx.require_person(person)
            return people
        case OptionType.DATETIME:
            return parse_local_datetime(str(raw), ctx, option.name)
        case OptionType.ZONE:
            name = str(raw)
            if not is_zone(name):
                hint = suggest_zone(name) if len(name) <= 100 else None
                tip = f" Did you mean `{hint}`?" if hint else " Use a name like Europe/Berlin or America/New_York."
                raise OptionError(f"{excerpt(name)} is not a time zone I know.{tip}", field=option.name)
            return name
        case OptionType.URL:
            return parse_url(str(raw), option.name)
    raise OptionError(f"{option.name}: unsupported option type {kind.value}.", field=option.name)


def _integer(option: Option, raw: Any, what: str = "a whole number") -> int:
    if isinstance(raw, bool):
        raise OptionError(f"{option.name} must be {what}.", field=option.name)
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(str(raw))
        except ValueError:
            raise OptionError(f"{option.name} must be {what}, not {excerpt(raw)}.", field=option.name) from None
    if option.min_value is not None and value < option.min_value:
        raise OptionError(f"{option.name} must be at least {option.min_value}.", field=option.name)
    if option.max_value is not None and value > option.max_value:
        raise OptionError(f"{option.name} must be at most {option.max_value}.", field=option.name)
    return value


def parse_url(text: str, name: str = "link") -> str:
    """An http(s) URL with a host, at most :data:`MAX_URL` characters."""
    if len(text) > MAX_URL:
        raise OptionError(f"{name} is too long ({len(text)} characters; the limit is {MAX_URL}).", field=name)
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in text:
        raise OptionError(
            f"{name} must be a web link starting with http:// or https://, not {excerpt(text)}.", field=name
        )
    return text


def parse_local_datetime(text: str, ctx: Context, name: str = "time") -> datetime:
    """``YYYY-MM-DD HH:MM`` in the person's zone, or a date alone (``2026-01-25``, ``20260125``) meaning 23:59
    that day, as in the cohort file; returned in UTC. A year after :data:`LAST_YEAR` is refused."""
    text = text.strip()
    value = _datetime(text)
    if value is None:
        raise OptionError(f"{name} must look like 2026-01-20 18:00 (your time, {ctx.zone.key}).", field=name)
    if value.year > LAST_YEAR:
        raise OptionError(f"{name} {excerpt(text)} is too far away: give a date before {LAST_YEAR + 1}.", field=name)
    if value.tzinfo is not None:
        return utc(value)
    return utc(local_instant(value, ctx.zone, name))


def local_instant(wall: datetime, zone: ZoneInfo, name: str = "time") -> datetime:
    """The naive wall-clock time ``wall`` in ``zone``, as an aware datetime; raise :class:`OptionError` when a
    clock change makes it not exist (spring forward) or happen twice (fall back), since guessing would move a
    meeting or a deadline by an hour without anyone noticing. Detected with zoneinfo's ``fold``: a time that does
    not survive the round trip through UTC does not exist; one whose two folds differ in offset is ambiguous."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    shown = _wall_text(wall)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        before, after = first.utcoffset(), second.utcoffset()  # in a gap, fold=0 takes the offset before it
        assert before is not None and after is not None
        change = _transition(zone, wall - after, wall - before)
        raise OptionError(
            f"{name}: {shown} does not exist in {zone.key} (clocks go forward at {_hm(change + before)}); "
            f"give {_hm(change + after)} or later.",
            field=name,
        )
    if first.utcoffset() != second.utcoffset():
        early, late = first.utcoffset(), second.utcoffset()
        assert early is not None and late is not None
        change = _transition(zone, wall - early, wall - late)
        raise OptionError(
            f"{name}: {shown} happens twice in {zone.key} (clocks go back at {_hm(change + early)} "
            f"to {_hm(change + late)}); say which with its offset: {_with_offset(first)} "
            f"(the first, {first.tzname()}) or {_with_offset(second)} (the second, {second.tzname()}).",
            field=name,
        )
    return first


def _transition(zone: ZoneInfo, start: datetime, end: datetime) -> datetime:
    """Where ``zone``'s clocks change between the naive UTC times ``start`` and ``end``: the first whole second
    (naive UTC) whose offset is no longer the one at ``start``."""

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()

    low, high = math.floor(start.replace(tzinfo=UTC).timestamp()), math.ceil(end.replace(tzinfo=UTC).timestamp())
    before = offset(low)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if offset(mid) == before else (low, mid)
    return datetime.fromtimestamp(high, UTC).replace(tzinfo=None)


def _hm(wall: datetime) -> str:
    return wall.strftime("%H:%M" if wall.second == 0 else "%H:%M:%S")


def _wall_text(wall: datetime) -> str:
    return f"{wall:%Y-%m-%d} {_hm(wall)}"


def _with_offset(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="minutes" if moment.second == 0 else "seconds")


def _datetime(text: str) -> datetime | None:
    """``text`` as a (naive or aware) datetime; a date alone is that day at :data:`END_OF_DAY`."""
    day = date_only(text)
    if day is not None:
        return datetime.combine(day, END_OF_DAY)
    for fmt in (None, *DATETIME_FORMATS):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text) if fmt is None else datetime.strptime(text, fmt)
    return None


def person_ref(person: Person) -> str:
    """How a person is named in a select's values: ``#`` and their roster id (see :func:`resolve_person`)."""
    return f"#{person.id}"


SECTION_KEY_PREFIX = "~"


def section_key(name: str) -> str:
    """How a section is named in a button's options: ``~`` and 12 hex digits of a hash of its name as
    :meth:`bot.cohort.Cohort.section` compares it (13 characters, whatever the name's length or script, so the
    button's id fits every platform). The same on every run and after a reload; ``Cohort.section`` resolves it."""
    return SECTION_KEY_PREFIX + hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:12]


async def resolve_person(ctx: Context, text: str, name: str = "user", *, removed_ok: bool = False) -> Person:
    """Someone on the roster by roster id (``#12``, as selects send), mention, platform user id, email or name
    (exact, then a unique prefix).

    Someone removed from the roster is refused clearly (and never matched by name) unless ``removed_ok``.
    """
    person = await _find_person(ctx, text.strip(), name, removed_ok)
    if person.removed and not removed_ok:
        raise UserError(
            f"{person.name} was removed from the roster, so I cannot do that for them. An organizer can put them "
            "back with /roster action:add and their email.",
            field=name,
        )
    return person


async def _find_person(ctx: Context, text: str, name: str, removed_ok: bool) -> Person:
    people = ctx.app.people
    if ROSTER_REF_RE.match(text):
        found = await people.get(int(text[1:]))
        if found:
            return found
        raise UserError(f"Nobody with roster number {text} is on the roster.", field=name)
    mention = MENTION_RE.match(text)
    if mention:
        found = await people.by_platform(ctx.actor.platform, mention.group(1))
        if found:
            return found
        raise UserError(f"{excerpt(text)} is not on the roster.", field=name)
    if "@" in text:
        found = await people.by_email(text)
        if found:
            return found
    found = await people.by_platform(ctx.actor.platform, text)
    if found:
        return found
    matches = await people.by_name(text, include_removed=removed_ok)
    if not matches and not removed_ok:  # nobody on the roster: someone removed, to say so (the caller refuses)
        matches = await people.by_name(text, limit=2, include_removed=True)
    if len(matches) == 1:
        return matches[0]
    if matches and len({p.name.casefold() for p in matches}) == 1:  # namesakes: only the number tells them apart
        who = ", ".join(
            f"#{p.id} ({p.role.label}{', ' + ', '.join(p.sections) if p.sections else ''})" for p in matches
        )
        raise UserError(
            f"Several people on the roster are called {matches[0].name}: {who}. Give the #number or their email.",
            field=name,
        )
    if matches:
        names = ", ".join(p.name for p in matches[:5])
        raise UserError(f"{excerpt(text)} could be several people ({names}); write the full name.", field=name)
    raise UserError(f"Nobody called {excerpt(text)} is on the roster.", field=name)


async def resolve_people(
    ctx: Context, raw: Any, name: str = "people", *, removed_ok: bool = False
) -> tuple[Person, ...]:
    """Several people: a list (a select's values) or text with names, emails or mentions separated by commas.

    Each is resolved as by :func:`resolve_person`; the result has no repeats and keeps the order given.
    """
    if isinstance(raw, list | tuple):
        parts = [str(v).strip() for v in raw]
    else:
        text = str(raw)
        parts = MENTIONS_RE.findall(text)
        parts += [p.strip() for p in PEOPLE_SEPARATORS.split(MENTIONS_RE.sub(",", text))]
    parts = [p for p in parts if p]
    if len(parts) > MAX_PEOPLE:
        raise OptionError(f"{name}: at most {MAX_PEOPLE} people at once.", field=name)
    found: dict[int, Person] = {}
    for part in parts:
        person = await resolve_person(ctx, part, name, removed_ok=removed_ok)
        found.setdefault(person.id, person)
    return tuple(found.values())


async def suggestions(ctx: Context, option: Option, current: str) -> list[Choice]:
    """Autocomplete for ``option`` given what has been typed so far (at most 25, as Discord allows)."""
    if option.autocomplete is not None:
        return (await option.autocomplete(ctx, current))[:25]
    typed = current.strip().casefold()
    if option.choices:
        return [c for c in option.choices if typed in c.name.casefold()][:25]
    cohort = ctx.app.cohort
    match option.type:
        case OptionType.WEEK:
            return [
                Choice(f"Week {w.number}: {w.title}"[:100], w.number)
                for w in cohort.weeks
                if typed in f"{w.number} {w.title}".casefold()
            ][:25]
        case OptionType.SECTION:
            names = [s.name for s in cohort.sections]
            if option.own_sections and ctx.role < Role.ORGANIZER:
                names = [n for n in names if ctx.may_manage_section(n)]
            return [Choice(n, n) for n in names if typed in n.casefold()][:25]
        case OptionType.PERSON | OptionType.PEOPLE:
            before, _, last = current.rpartition(",") if option.type is OptionType.PEOPLE else ("", "", current)
            lead = f"{before.strip()}, " if before.strip() else ""
            people = await (ctx.app.people.by_name(last, limit=50) if last.strip() else ctx.app.people.all(limit=50))
            if option.own_sections:
                people = [p for p in people if ctx.may_manage_person(p)]
            return [Choice(p.name, f"{lead}{p.name}"[:100]) for p in people][:25]
        case OptionType.ZONE:
            return [Choice(z, z) for z in matching_zones(current)]
    return []
