"""The cohort file: pydantic models, loading with every error listed by path, and derived times."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from datetime import time as Time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.clock import END_OF_DAY, date_only, utc
from bot.core.options import section_key

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PositiveInt = Annotated[int, Field(gt=0)]
Day = date  # a field called ``date`` would shadow the type inside its class


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file (tzdata installed)
        from bot.core.zones import suggest_zone

        hint = suggest_zone(value)
        raise ValueError(f"unknown time zone {value!r}" + (f" (did you mean {hint}?)" if hint else "")) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Track(_Model):
    """A track of the course (e.g. ``intro``, ``advanced``)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    description: str = ""


class Reading(_Model):
    """One reading; ``track`` limits it to one track (default: everyone)."""

    title: Annotated[str, Field(min_length=1)]
    url: HttpUrl
    minutes: PositiveInt
    track: str | None = None
    optional: bool = False


class Lecture(_Model):
    """The week's lecture video."""

    title: Annotated[str, Field(min_length=1)]
    url: HttpUrl
    minutes: PositiveInt | None = None


class Homework(_Model):
    """The week's homework; ``due`` is a local date and time in the cohort's zone."""

    title: Annotated[str, Field(min_length=1)]
    instructions: str = ""
    due: datetime

    @field_validator("due", mode="before")
    @classmethod
    def _date_only(cls, value: object) -> object:
        """A date alone means 23:59 that day, as in commands (``due: 2026-01-18``)."""
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if isinstance(value, str):
            day = date_only(value)
        return datetime.combine(day, END_OF_DAY) if day is not None else value

    @field_validator("due")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("write the due time without an offset; it is read in the cohort's time zone")
        return value


class Week(_Model):
    """One week of the curriculum."""

    number: PositiveInt
    title: Annotated[str, Field(min_length=1)]
    readings: list[Reading] = Field(default_factory=list)
    lecture: Lecture | None = None
    homework: Homework | None = None


# ---- sections (issue 12: link, location, per-week exceptions) -----------------------------------------
class MeetingException(_Model):
    """One week that differs from a section's weekly pattern: skipped, or on another date and/or at another time.

    ``date`` and ``start`` are local, in the section's zone; either may be left out (same weekday of that week,
    or the usual start time).
    """

    week: PositiveInt
    skip: bool = False
    date: Day | None = None
    start: Time | None = None
    reason: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> MeetingException:
        if self.skip and (self.date is not None or self.start is not None):
            raise ValueError("a skipped week has no date or start; give either skip: true, or a date and/or start")
        if not self.skip and self.date is None and self.start is None:
            raise ValueError("say what is different that week: skip: true, or a date and/or a start time")
        return self


class SectionMeeting(_Model):
    """A discussion section: who runs it, and when and where it meets each week, in its own zone.

    ``link`` is a call URL and ``location`` a place (a room, an address); ``channel`` is its chat channel.
    ``exceptions`` lists the weeks that differ from the pattern (read them through ``bot.meetings``).
    """

    name: Annotated[str, Field(min_length=1)]
    track: str
    facilitators: list[str] = Field(default_factory=list)
    weekday: Weekday
    start: Time
    timezone: Annotated[str, Field()] = ""
    duration_minutes: PositiveInt = 60
    channel: str | None = None
    link: HttpUrl | None = None
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    exceptions: list[MeetingException] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        return _zone(value) if value else value

    def exception(self, week: int) -> MeetingException | None:
        """The exception for ``week``, if the file gives one."""
        return next((e for e in self.exceptions if e.week == week), None)


class Posting(_Model):
    """When each week's material goes out, and to which channel per track."""

    weekday: Weekday = "monday"
    time: Time = Time(9, 0)
    channels: dict[str, str] = Field(default_factory=dict)


# ---- stipend rule (attendance and stipends, issue 13) --------------------------------------------------
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
MONEY_RE = re.compile(r"^\s*([A-Za-z]{3})?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z]{3})?\s*$")


class StipendRule(_Model):
    """Who completes, and what is paid (see docs/stipends.md).

    A scholar qualifies when they are eligible (the roster's ``stipend_eligible``, if ``requires_eligibility``),
    attended at least ``sections_attended`` of their section's meetings (a cancelled meeting lowers the number
    needed by one: it never counts against anyone) and handed in at least ``homeworks_submitted`` homeworks.
    ``amount`` and ``facilitator_hourly_rate`` are numbers in ``currency``; ``"USD 500"`` is read as well.
    """

    sections_attended: Annotated[int, Field(ge=0)] = 6
    homeworks_submitted: Annotated[int, Field(ge=0)] = 6
    late_counts: bool = True  # a late homework counts ...
    late_grace_days: Annotated[float, Field(ge=0)] | None = None  # ... if handed in this long after its deadline
    excused_counts: bool = False  # an excused absence counts as attended (else as missed, with its reason kept)
    makeups_count: bool = True  # attending another section's meeting counts for one's own meeting of that week
    requires_eligibility: bool = True
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    amount: Money | None = None  # paid to each scholar who qualifies
    facilitator_hourly_rate: Money | None = None
    facilitator_prep_minutes: Annotated[int, Field(ge=0, le=600)] = 0  # paid per meeting held, on top of its length
    alert_hours_after: Annotated[float, Field(ge=0, le=168)] = 12  # at-risk check after each meeting and deadline

    @model_validator(mode="before")
    @classmethod
    def _money_with_currency(cls, data: Any) -> Any:
        """Accept ``amount: USD 500`` (or ``500 USD``): the code goes to ``currency``, which must agree."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("amount", "facilitator_hourly_rate"):
            value = data.get(key)
            if not isinstance(value, str):
                continue
            match = MONEY_RE.match(value)
            if match is None:
                raise ValueError(f"{key}: {value!r} is not an amount (write 500, or USD 500)")
            code = (match.group(1) or match.group(3) or "").upper()
            if code:
                if data.get("currency") not in (None, code):
                    raise ValueError(f"{key}: {value!r} is not in the currency {data['currency']}")
                data["currency"] = code
            data[key] = match.group(2).replace(",", "")
        return data

    def money(self, value: Decimal | None) -> str:
        """``USD 500`` / ``USD 12.50`` / ``−USD 12.50`` (``-`` for none)."""
        if value is None:
            return "-"
        sign, value = ("−", -value) if value < 0 else ("", value)
        shown = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
        return f"{sign}{self.currency} {shown}"


# ---- rotating pairs, the topic bank and workshop sessions (issue 14; see docs/pairs.md) -----------------
MAX_PAIR_ROUNDS = 20
DEFAULT_PROMPT = "Find something you disagree about; a disagreement you have used before is not allowed."


class Pairing(_Model):
    """Rotating pairs: rounds, group size (2, or 3), minutes per round, the odd count's trio, the lobby, and the
    topic bank that each group's suggested disagreement comes from."""

    rounds: Annotated[int, Field(ge=1, le=MAX_PAIR_ROUNDS)] = 4
    size: Annotated[int, Field(ge=2, le=3)] = 2
    minutes: Annotated[int, Field(ge=1, le=180)] = 10
    trios_for_odd: bool = True
    avoid_repeats_across_sessions: bool = True
    lobby_minutes: Annotated[int, Field(ge=1, le=60)] = 2
    prompt: Annotated[str, Field(min_length=1, max_length=300)] = DEFAULT_PROMPT
    topics: list[Annotated[str, Field(min_length=3, max_length=200)]] = Field(default_factory=list)


class PreRead(_Model):
    """Something to read before a workshop session."""

    title: Annotated[str, Field(min_length=1)]
    url: HttpUrl
    minutes: PositiveInt | None = None


class PairsBlock(_Model):
    """How an agenda block of kind ``pairs`` pairs people (defaults: the cohort's ``pairing`` settings)."""

    size: Annotated[int, Field(ge=2, le=3)] | None = None
    rounds: Annotated[int, Field(ge=1, le=MAX_PAIR_ROUNDS)] | None = None
    minutes: Annotated[int, Field(ge=1, le=180)] | None = None


class AgendaBlock(_Model):
    """One block of a workshop's timed agenda; blocks follow each other without gaps."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    minutes: PositiveInt
    kind: Literal["talk", "discussion", "pairs", "break"]
    notes: str = ""
    pairs: PairsBlock | None = None


class WorkshopSession(_Model):
    """A workshop session (e.g. one day of a weekend workshop): when, where, what to read, and its agenda.

    ``date`` and ``time`` are local to ``timezone`` (default: the cohort's). ``audience`` says who it is for:
    ``all``, ``scholars``, ``facilitators``, ``track:NAME`` or ``section:NAME``. A ``pairs`` block pairs those
    checked in for ``section``'s meeting of that week when it names one, else it opens a lobby.
    """

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    date: date
    time: Time
    timezone: str = ""
    channel: Annotated[str, Field(min_length=1)]
    audience: str = "all"
    section: str | None = None
    agenda_hours_before: Annotated[float, Field(ge=0, le=24 * 14)] = 24
    pre_reads: list[PreRead] = Field(default_factory=list)
    agenda: Annotated[list[AgendaBlock], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        return _zone(value) if value else value

    @property
    def minutes(self) -> int:
        """The agenda's total length."""
        return sum(b.minutes for b in self.agenda)


class Reminders(_Model):
    """How long before a deadline or a section people are reminded.

    Sections: ``section_reminder_via`` is ``dm`` (each member gets a DM) or ``channel`` (one post in the
    section's channel that mentions the members); ``facilitator_prep_hours_before`` is when facilitators get
    their prep note (roster, who submitted, who missed last week).
    """

    homework_hours_before: Annotated[float, Field(ge=0)] = 24
    section_minutes_before: Annotated[float, Field(ge=0)] = 60
    facilitator_digest_hours_after: Annotated[float, Field(ge=0)] = 1
    section_reminder_via: Literal["dm", "channel"] = "dm"
    facilitator_prep_hours_before: Annotated[float, Field(ge=0, le=24 * 6)] = 24


class DiscordRoles(_Model):
    """Discord server roles that grant bot roles (in addition to the roster)."""

    organizer_roles: list[str] = Field(default_factory=list)
    facilitator_roles: list[str] = Field(default_factory=list)


# ---- roster: onboarding and membership sync (cogs/roster, docs/roster.md) ------------------------------------
class MemberSync(_Model):
    """Keep platform membership in step with the roster (optional): server roles where the platform has them,
    channel invitations where it does not. Templates may use ``{track}``, ``{section}`` and ``{channel}`` (the
    section's channel)."""

    roles: dict[Literal["scholar", "facilitator", "organizer"], str] = Field(default_factory=dict)
    track_role: str | None = None
    section_role: str | None = None
    channels: bool = False  # invite people to their track's posting channel and their sections' channels

    @property
    def enabled(self) -> bool:
        """Whether anything is to be kept in sync."""
        return bool(self.roles or self.track_role or self.section_role or self.channels)


class RosterRules(_Model):
    """Joining and the roster: where organizers approve join requests, how many wrong codes an account may try
    in an hour, and membership sync."""

    organizer_channel: str | None = None  # a private channel for join requests; unset: DMs to each organizer
    join_code_tries: PositiveInt = 5
    sync: MemberSync = Field(default_factory=MemberSync)


TEMPLATE_FIELDS = {"track_role": ("track",), "section_role": ("track", "section", "channel")}


def _template_errors(c: Cohort) -> list[tuple[str, str]]:
    """Role-name templates that use unknown placeholders, or ``{channel}`` for a section without one."""
    errors: list[tuple[str, str]] = []
    for name, fields in TEMPLATE_FIELDS.items():
        template = getattr(c.roster.sync, name)
        if not template:
            continue
        try:
            template.format(**{f: f for f in fields})
        except (KeyError, IndexError, ValueError) as exc:
            allowed = ", ".join("{" + f + "}" for f in fields)
            errors.append((f"roster.sync.{name}", f"{template!r} can only use {allowed} ({exc})"))
            continue
        if "{channel}" in template:
            for i, s in enumerate(c.sections):
                if not s.channel:
                    errors.append((f"sections[{i}].channel", f"needed by roster.sync.{name} ({template!r})"))
    return errors


# ---- announcements (issue #15) -------------------------------------------------------------------------
class Announcements(_Model):
    """Where ``/announce`` posts when it is not sending DMs: ``channel`` for ``to:all`` and ``to:scholars``;
    the facilitators' and organizers' own channels, if they have one (without it, those audiences get DMs only).
    Tracks and sections post in their own channels (``posting.channels``, ``sections[].channel``)."""

    channel: str | None = None
    facilitators_channel: str | None = None
    organizers_channel: str | None = None


class Cohort(_Model):
    """A whole cohort: program, zone, start, tracks, weeks, sections and rules."""

    program: Annotated[str, Field(min_length=1)]
    timezone: str
    start_date: date
    contact: str = "Ask one of the organizers to add you to the roster."
    tracks: Annotated[list[Track], Field(min_length=1)]
    weeks: Annotated[list[Week], Field(min_length=1)]
    sections: list[SectionMeeting] = Field(default_factory=list)
    posting: Posting = Field(default_factory=Posting)
    stipend: StipendRule = Field(default_factory=StipendRule)
    pairing: Pairing = Field(default_factory=Pairing)
    sessions: list[WorkshopSession] = Field(default_factory=list)
    reminders: Reminders = Field(default_factory=Reminders)
    discord: DiscordRoles = Field(default_factory=DiscordRoles)
    roster: RosterRules = Field(default_factory=RosterRules)
    announcements: Announcements = Field(default_factory=Announcements)
    _by_name: dict[str, SectionMeeting] | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        return _zone(value)

    # ---- derived values -------------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        """The cohort's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def track_names(self) -> list[str]:
        """Names of the tracks, in file order."""
        return [t.name for t in self.tracks]

    def week(self, number: int) -> Week | None:
        """Week ``number`` (1-based), if it exists."""
        return next((w for w in self.weeks if w.number == number), None)

    def section(self, name: str) -> SectionMeeting | None:
        """The section called ``name`` (case-insensitive) or whose :func:`section_key` is ``name``; by index, as
        a large cohort has thousands."""
        if self._by_name is None:
            by_name: dict[str, SectionMeeting] = {}
            for s in self.sections:
                by_name.setdefault(s.name.casefold(), s)
            for s in self.sections:  # names first: a key never hides a section's name
                by_name.setdefault(section_key(s.name), s)
            self._by_name = by_name
        return self._by_name.get(name.strip().casefold())

    def local(self, day: date, at: Time, zone: ZoneInfo | None = None) -> datetime:
        """An aware UTC datetime for a local wall-clock time on ``day`` in ``zone`` (default: the cohort's)."""
        return datetime.combine(day, at, tzinfo=zone or self.zone).astimezone(UTC)

    def week_start_date(self, number: int) -> date:
        """The first day of week ``number``."""
        return self.start_date + timedelta(days=7 * (number - 1))

    def week_start(self, number: int) -> datetime:
        """Midnight (cohort time) at the start of week ``number``, in UTC."""
        return self.local(self.week_start_date(number), Time(0, 0))

    def day_in_week(self, number: int, weekday: str) -> date:
        """The date of ``weekday`` within week ``number`` (weeks start on ``start_date``)."""
        first = self.week_start_date(number)
        offset = (WEEKDAYS.index(weekday) - first.weekday()) % 7
        return first + timedelta(days=offset)

    def post_time(self, number: int) -> datetime:
        """When week ``number``'s material is posted (UTC)."""
        return self.local(self.day_in_week(number, self.posting.weekday), self.posting.time)

    def due(self, number: int) -> datetime | None:
        """When week ``number``'s homework is due (UTC), if it has homework."""
        week = self.week(number)
        if week is None or week.homework is None:
            return None
        return utc(week.homework.due.replace(tzinfo=self.zone))

    def section_zone(self, section: SectionMeeting) -> ZoneInfo:
        """The zone a section's start time is written in."""
        return ZoneInfo(section.timezone) if section.timezone else self.zone

    def meeting(self, section: SectionMeeting, number: int) -> tuple[datetime, datetime]:
        """Start and end (UTC) of ``section``'s weekly meeting in week ``number``, by the weekly pattern alone.

        The file's per-week exceptions and the database's moves are applied by ``bot.meetings`` (``planned()``,
        ``app.meetings``): use those for the meeting that actually takes place.
        """
        start = self.local(self.day_in_week(number, section.weekday), section.start, self.section_zone(section))
        return start, start + timedelta(minutes=section.duration_minutes)

    def week_number(self, at: datetime, zone: ZoneInfo | None = None) -> int:
        """The course week ``at`` falls in, counted from ``start_date`` in ``zone`` (the cohort's by default); not
        clamped: before the course it is 0 or less, after it beyond the last week."""
        return (utc(at).astimezone(zone or self.zone).date() - self.start_date).days // 7 + 1

    def current_week(self, now: datetime) -> int:
        """The week ``now`` falls in, clamped to the first and last week."""
        return max(1, min(len(self.weeks), self.week_number(now)))

    def readings_for(self, number: int, track: str | None) -> list[Reading]:
        """Week ``number``'s readings for ``track`` (all readings if ``track`` is ``None``)."""
        week = self.week(number)
        if week is None:
            return []
        return [r for r in week.readings if r.track is None or track is None or r.track == track]

    def channel_for(self, track: str) -> str | None:
        """The channel where ``track``'s weekly material is posted."""
        return self.posting.channels.get(track)

    # ---- workshop sessions (issue 14) --------------------------------------------------------------------
    def session(self, name: str) -> WorkshopSession | None:
        """The workshop session called ``name``."""
        return next((s for s in self.sessions if s.name == name.strip().casefold()), None)

    def session_zone(self, session: WorkshopSession) -> ZoneInfo:
        """The zone a session's date and time are written in."""
        return ZoneInfo(session.timezone) if session.timezone else self.zone

    def session_start(self, session: WorkshopSession) -> datetime:
        """When ``session`` begins (UTC)."""
        return self.local(session.date, session.time, self.session_zone(session))

    def session_blocks(self, session: WorkshopSession) -> list[tuple[AgendaBlock, datetime, datetime]]:
        """Each agenda block with its start and end (UTC), back to back from the session's start."""
        out = []
        at = self.session_start(session)
        for block in session.agenda:
            end = at + timedelta(minutes=block.minutes)
            out.append((block, at, end))
            at = end
        return out

    def pairs_settings(self, block: AgendaBlock) -> tuple[int, int, int]:
        """``(size, rounds, minutes)`` of a pairs block, the cohort's ``pairing`` filling what it leaves out."""
        given = block.pairs or PairsBlock()
        p = self.pairing
        return given.size or p.size, given.rounds or p.rounds, given.minutes or p.minutes


# ---- loading and semantic checks ---------------------------------------------------------------------
class CohortError(Exception):
    """An invalid cohort file; ``errors`` lists ``(path, message)`` pairs, every one of them."""

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s)")

    def report(self) -> str:
        """A human-readable list of every error, one per line."""
        lines = [f"{self.source}: {len(self.errors)} error(s)"]
        lines += [f"  {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)


def format_loc(loc: tuple[Any, ...]) -> str:
    """``('weeks', 2, 'homework', 'due')`` -> ``weeks[2].homework.due``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _semantic_errors(c: Cohort, skip: Collection[str] = ()) -> list[tuple[str, str]]:
    """Checks across settings; a check reading a top-level setting in ``skip`` (found invalid already) is left out."""
    errors: list[tuple[str, str]] = []
    tracks = set(c.track_names)

    def reads(*names: str) -> bool:
        return not set(skip).intersection(names)

    def track_ok(name: str | None, path: str) -> None:
        if name is not None and name not in tracks:
            close = difflib.get_close_matches(name, sorted(tracks), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append((path, f"unknown track {name!r}{hint}; tracks are {', '.join(sorted(tracks))}"))

    seen_tracks: set[str] = set()
    for i, t in enumerate(c.tracks if reads("tracks") else []):
        if t.name in seen_tracks:
            errors.append((f"tracks[{i}].name", f"track {t.name!r} is listed twice"))
        seen_tracks.add(t.name)

    for i, w in enumerate(c.weeks if reads("weeks") else []):
        if w.number != i + 1:
            errors.append((f"weeks[{i}].number", f"expected week {i + 1} here (weeks are numbered 1, 2, 3, ...)"))
        for j, r in enumerate(w.readings if reads("tracks") else []):
            track_ok(r.track, f"weeks[{i}].readings[{j}].track")
        if w.homework is not None and reads("timezone", "start_date"):
            due = utc(w.homework.due.replace(tzinfo=c.zone))
            begins = c.week_start(i + 1)
            if due <= begins:
                errors.append(
                    (
                        f"weeks[{i}].homework.due",
                        f"due {w.homework.due:%Y-%m-%d %H:%M} is before week {i + 1} begins",
                    )
                )

    names: set[str] = set()
    for i, s in enumerate(c.sections if reads("sections") else []):
        if s.name.casefold() in names:
            errors.append((f"sections[{i}].name", f"section {s.name!r} is listed twice"))
        names.add(s.name.casefold())
        if reads("tracks"):
            track_ok(s.track, f"sections[{i}].track")
        if reads("weeks", "timezone", "start_date", "reminders"):
            errors += _section_errors(c, i, s)

    if reads("posting", "tracks"):
        for track, _channel in c.posting.channels.items():
            track_ok(track, f"posting.channels.{track}")
        for t in c.track_names:
            if t not in c.posting.channels:
                errors.append(("posting.channels", f"no channel for track {t!r}"))

    for field_name in ("sections_attended", "homeworks_submitted") if reads("stipend", "weeks", "sections") else ():
        needed = getattr(c.stipend, field_name)
        if field_name == "sections_attended":
            available = len(c.weeks) if c.sections else 0
        else:
            available = sum(1 for w in c.weeks if w.homework)
        if needed > available:
            errors.append((f"stipend.{field_name}", f"asks for {needed} but the cohort only has {available}"))
    errors += _template_errors(c)
    if reads("sessions", "tracks", "sections", "pairing", "timezone"):
        errors.extend(_session_errors(c, {s.name.casefold() for s in c.sections}))
    return errors


def _session_errors(c: Cohort, section_names: set[str]) -> list[tuple[str, str]]:
    """Workshop sessions: unique names, a known audience and section, pairs blocks that fit their minutes."""
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, s in enumerate(c.sessions):
        where = f"sessions[{i}]"
        if s.name in seen:
            errors.append((f"{where}.name", f"session {s.name!r} is listed twice"))
        seen.add(s.name)
        kind, _, value = s.audience.partition(":")
        if s.audience not in ("all", "scholars", "facilitators") and not (
            (kind == "track" and value in c.track_names) or (kind == "section" and value.casefold() in section_names)
        ):
            errors.append(
                (
                    f"{where}.audience",
                    f"{s.audience!r} is not an audience: use all, scholars, facilitators, track:NAME or section:NAME "
                    "with a track or section of this file",
                )
            )
        if s.section is not None and s.section.casefold() not in section_names:
            errors.append((f"{where}.section", f"unknown section {s.section!r}"))
        for j, block in enumerate(s.agenda):
            if block.pairs is not None and block.kind != "pairs":
                errors.append((f"{where}.agenda[{j}].pairs", "only a block of kind pairs takes pairs settings"))
            if block.kind == "pairs":
                _size, rounds, minutes = c.pairs_settings(block)
                needed = rounds * minutes + (0 if s.section else c.pairing.lobby_minutes)
                if needed > block.minutes:
                    lobby = "" if s.section else f" after a {c.pairing.lobby_minutes}-minute lobby"
                    errors.append(
                        (
                            f"{where}.agenda[{j}].minutes",
                            f"{rounds} rounds of {minutes} minutes{lobby} take {needed} minutes; "
                            f"the block has {block.minutes}",
                        )
                    )
    return errors


def _section_errors(c: Cohort, i: int, s: SectionMeeting) -> list[tuple[str, str]]:
    """A section's exceptions (weeks that exist, one per week, not onto another of its meetings) and channel."""
    errors: list[tuple[str, str]] = []
    if c.reminders.section_reminder_via == "channel" and not s.channel:
        errors.append(
            (f"sections[{i}].channel", "reminders.section_reminder_via is 'channel', so every section needs a channel")
        )
    weeks = range(1, len(c.weeks) + 1)
    seen: set[int] = set()
    for j, e in enumerate(s.exceptions):
        if e.week not in weeks:
            errors.append(
                (f"sections[{i}].exceptions[{j}].week", f"there is no week {e.week}: weeks are 1–{len(c.weeks)}")
            )
        elif e.week in seen:
            errors.append((f"sections[{i}].exceptions[{j}].week", f"week {e.week} has two exceptions; keep one"))
        seen.add(e.week)
    if errors:
        return errors
    length = timedelta(minutes=s.duration_minutes)
    starts = {w: exception_start(c, s, w) for w in weeks}
    for j, e in enumerate(s.exceptions):
        start = starts[e.week]
        if start is None:
            continue
        clash = [
            w
            for w, other in starts.items()
            if w != e.week and other and start < other + length and other < start + length
        ]
        if clash:
            errors.append(
                (
                    f"sections[{i}].exceptions[{j}]",
                    f"week {e.week}'s time overlaps week {clash[0]}'s meeting of {s.name}",
                )
            )
    return errors


def exception_start(c: Cohort, s: SectionMeeting, week: int) -> datetime | None:
    """When ``s`` meets in ``week`` by the file (weekly pattern and exceptions), UTC; ``None`` if skipped."""
    e = s.exception(week)
    if e is None:
        return c.meeting(s, week)[0]
    if e.skip:
        return None
    return c.local(e.date or c.day_in_week(week, s.weekday), e.start or s.start, c.section_zone(s))


# Placeholders for required top-level settings that failed validation, so that the checks which do not read them
# still run and every error is listed at once (a missing ``program`` hides nothing else).
_PLACEHOLDERS: dict[str, Any] = {
    "program": "(missing)",
    "timezone": "UTC",
    "start_date": date(2000, 1, 3),
    "tracks": [{"name": "placeholder"}],
    "weeks": [{"number": 1, "title": "placeholder"}],
}


def _repaired(data: dict[str, Any], broken: set[str]) -> Cohort | None:
    """``data`` with each broken top-level setting replaced by its default or a placeholder, if that validates."""
    fixed = {k: v for k, v in data.items() if k not in broken}
    for key in broken & set(_PLACEHOLDERS):
        fixed[key] = _PLACEHOLDERS[key]
    try:
        return Cohort.model_validate(fixed)
    except ValidationError:
        return None


def parse_cohort(data: Any, source: str = "cohort", problems: list[tuple[str, str]] | None = None) -> Cohort:
    """Validate already-parsed YAML data; raise :class:`CohortError` listing every problem.

    ``problems`` found while reading the file (duplicate keys) are listed first. When some settings are invalid,
    the checks across settings still run on the others, so one run shows every error.
    """
    errors = list(problems or [])
    if not isinstance(data, dict):
        errors.append(("(top level)", "the file must be a mapping of settings (program:, weeks:, ...)"))
        raise CohortError(source, errors)
    try:
        cohort: Cohort | None = Cohort.model_validate(data)
        broken: set[str] = set()
    except ValidationError as exc:
        errors += [(format_loc(e["loc"]), e["msg"]) for e in exc.errors()]
        broken = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        cohort = _repaired(data, broken)
    if cohort is not None:
        errors += _semantic_errors(cohort, skip=broken)
    if errors:
        raise CohortError(source, errors)
    assert cohort is not None
    return cohort


# libyaml's parser when PyYAML has it (five times faster on a cohort file with thousands of sections).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """PyYAML's safe loader, stricter: a key given twice in one mapping is an error (not "the last one wins"),
    and an impossible date (``2026-02-30``) stays text, so that validation reports it with its path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[tuple[str, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.setdefault(key, line)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first != line:
                where = f"line {line}, column {key_node.start_mark.column + 1}"
                self.problems.append((where, f"{key!r} is given twice in the same mapping (first on line {first})"))
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _not_text(raw: bytes, exc: UnicodeDecodeError) -> str:
    """Why ``raw`` cannot be read as text, saying where."""
    line = raw.count(b"\n", 0, exc.start) + 1
    where = f"byte 0x{raw[exc.start]:02X} on line {line}"
    if b"\x00" in raw[:8192]:
        return f"this is not a text file (it looks binary: {where})"
    return f"the file is not UTF-8 text ({where} cannot be read); save it as UTF-8 and try again"


def load_cohort(path: str | Path) -> Cohort:
    """Read and validate a cohort YAML file; raise :class:`CohortError` (never a traceback) on any problem.

    The file must be UTF-8 (a byte-order mark is allowed); a key given twice is an error.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CohortError(str(path), [("(file)", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CohortError(str(path), [("(file)", _not_text(raw, exc))]) from None
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        data = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"this is not a text file (character #x{exc.character:04x} on line {line} is not allowed in YAML)"
        raise CohortError(str(path), [("(file)", problem)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise CohortError(str(path), [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return parse_cohort(data, str(path), loader.problems)
