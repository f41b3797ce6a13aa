"""The stipend engine: pure functions from one scholar's facts and the cohort's rule to where they stand.

Each requirement (sections, homework) is a list of items, one per week. An item is **counted** (it counts
toward the rule), **missed** (it is decided and does not count) or **open** (it may still count: the meeting or
deadline is ahead, attendance has not been taken yet, a make-up is still possible this week, or a late homework
would still count). From these:

* ``may_miss`` = ``counted + open - needed`` kept within ``0..open``: how many more may be missed with the rule met;
* the rule is *met* when ``counted >= needed``, *out of reach* when ``counted + open < needed``;
* a scholar **qualifies** when every rule is met and they are eligible to be paid.

Sections: one item per meeting of the scholar's own section; a cancelled meeting is no item and lowers the number
needed by one (it never counts against anyone). Homework: one item per week with homework; the latest submission
counts (as everywhere in the bot), and a late one only if ``late_counts`` (within ``late_grace_days``).
No I/O here: ``_facts.py`` loads the facts, the property tests drive this directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from bot.cohort import StipendRule

ItemState = Literal["counted", "missed", "open"]
StatusName = Literal["qualified", "on track", "at risk", "cannot qualify", "not eligible"]
STATUSES: tuple[StatusName, ...] = ("qualified", "on track", "at risk", "cannot qualify", "not eligible")


@dataclass(frozen=True)
class MeetingFacts:
    """One week of a scholar's own section: the meeting, and what is known about them there."""

    week: int
    held: bool  # False: cancelled
    start: datetime
    recorded: bool  # the meeting's attendance was taken
    mark: str | None  # their own mark there: present | excused | absent | None
    makeup: bool  # present at another section's meeting of the same week
    makeup_until: datetime  # the end of that week: until then a make-up is still possible


@dataclass(frozen=True)
class HomeworkFacts:
    """One week with homework: its deadline (due or extension) and the latest submission's lateness."""

    week: int
    deadline: datetime
    submitted: bool
    late: bool = False
    submitted_at: datetime | None = None  # of the latest submission
    course_end: datetime | None = None  # a late homework counts until then when late_grace_days is unset

    def late_until(self, rule: StipendRule) -> datetime | None:
        """Until when a late submission still counts (``None``: always), if late ones count at all."""
        if rule.late_grace_days is not None:
            return self.deadline + timedelta(days=rule.late_grace_days)
        return self.course_end


def meeting_state(item: MeetingFacts, rule: StipendRule, now: datetime) -> ItemState:
    """Counted, missed or open (a cancelled meeting is none of them: callers leave it out)."""
    if item.mark == "present" or (item.makeup and rule.makeups_count):
        return "counted"
    if item.mark == "excused" and rule.excused_counts:
        return "counted"
    decided = item.mark in ("absent", "excused") or (item.recorded and item.mark is None)
    if not decided:
        return "open"
    if rule.makeups_count and now < item.makeup_until:
        return "open"  # absent at home, but another section's meeting this week still counts
    return "missed"


def homework_state(item: HomeworkFacts, rule: StipendRule, now: datetime) -> ItemState:
    """Counted, missed or open."""
    closes = item.late_until(rule)
    if item.submitted:
        if not item.late:
            return "counted"
        in_time = closes is None or item.submitted_at is None or item.submitted_at <= closes
        return "counted" if rule.late_counts and in_time else "missed"
    if now <= item.deadline:
        return "open"
    if not rule.late_counts:
        return "missed"
    return "open" if closes is None or now <= closes else "missed"


@dataclass(frozen=True)
class Requirement:
    """Progress on one rule."""

    name: Literal["sections", "homework"]
    needed: int
    counted: int
    missed: int
    open: int
    waived: int = 0  # cancelled meetings (sections only)

    @property
    def decided(self) -> int:
        """Items decided so far (counted or missed)."""
        return self.counted + self.missed

    @property
    def met(self) -> bool:
        """Whether the rule is reached."""
        return self.counted >= self.needed

    @property
    def reachable(self) -> bool:
        """Whether the rule can still be reached."""
        return self.counted + self.open >= self.needed

    @property
    def may_miss(self) -> int:
        """How many of the open items may still be missed with the rule met (never negative, at most all of them)."""
        return min(self.open, max(0, self.counted + self.open - self.needed))

    @property
    def still_needed(self) -> int:
        """How many more must count."""
        return max(0, self.needed - self.counted)

    @property
    def last_chance(self) -> bool:
        """Not met, still reachable, and nothing more may be missed: "can miss no more"."""
        return not self.met and self.reachable and self.may_miss == 0


def requirement(
    name: Literal["sections", "homework"], needed: int, states: list[ItemState], waived: int = 0
) -> Requirement:
    """Count the states of one rule's items."""
    return Requirement(
        name=name,
        needed=max(0, needed - waived),
        counted=states.count("counted"),
        missed=states.count("missed"),
        open=states.count("open"),
        waived=waived,
    )


@dataclass(frozen=True)
class Standing:
    """Where one scholar stands."""

    person_id: int
    eligible: bool
    sections: Requirement
    homework: Requirement
    amount: Decimal | None  # the stipend if they qualify (None: the cohort sets no amount)

    @property
    def complete(self) -> bool:
        """Every rule met (whether or not they may be paid)."""
        return self.sections.met and self.homework.met

    @property
    def qualified(self) -> bool:
        """Every rule met and eligible to be paid."""
        return self.complete and self.eligible

    @property
    def status(self) -> StatusName:
        """One of :data:`STATUSES`."""
        if not self.eligible:
            return "not eligible"
        if self.qualified:
            return "qualified"
        if not (self.sections.reachable and self.homework.reachable):
            return "cannot qualify"
        if self.sections.last_chance or self.homework.last_chance:
            return "at risk"
        return "on track"

    @property
    def earned(self) -> Decimal:
        """What is committed to them: the amount if they qualify, else 0."""
        return (self.amount or Decimal(0)) if self.qualified else Decimal(0)


def standing(
    person_id: int,
    eligible: bool,
    meetings: list[MeetingFacts],
    homework: list[HomeworkFacts],
    rule: StipendRule,
    now: datetime,
) -> Standing:
    """Apply ``rule`` to one scholar's facts at ``now``."""
    held = [m for m in meetings if m.held]
    sections = requirement(
        "sections",
        rule.sections_attended,
        [meeting_state(m, rule, now) for m in held],
        waived=len(meetings) - len(held),
    )
    work = requirement("homework", rule.homeworks_submitted, [homework_state(h, rule, now) for h in homework])
    return Standing(
        person_id=person_id,
        eligible=eligible or not rule.requires_eligibility,
        sections=sections,
        homework=work,
        amount=rule.amount,
    )


@dataclass(frozen=True)
class Totals:
    """The organizer's totals: how many in each status, and the money."""

    counts: dict[str, int]
    committed: Decimal  # paid to those who qualified
    in_reach: Decimal  # the most that may be paid: qualified + on track + at risk

    @property
    def people(self) -> int:
        """Everyone counted."""
        return sum(self.counts.values())


def totals(standings: list[Standing]) -> Totals:
    """Sum the rows."""
    counts = dict.fromkeys(STATUSES, 0)
    for s in standings:
        counts[s.status] += 1
    committed = sum((s.earned for s in standings), Decimal(0))
    reach = sum(
        ((s.amount or Decimal(0)) for s in standings if s.status in ("qualified", "on track", "at risk")),
        Decimal(0),
    )
    return Totals(counts=counts, committed=committed, in_reach=reach)


def sentence(req: Requirement, noun: str, who: str = "you") -> str:
    """Plain words, to ``who`` ("you" or "they"): "5 of 6 sections so far (6 needed); you can miss at most 1 more
    of the 3 left."."""
    plural = noun if noun.endswith("s") else noun + "s"
    so_far = f"{req.counted} of {req.decided} {plural} so far" if req.decided else f"no {plural} decided yet"
    if req.met:
        return f"{so_far}: {who} have the {req.needed} needed. ✅"
    if not req.reachable:
        left = f"only {req.open} {'is' if req.open == 1 else 'are'} left" if req.open else "none are left"
        return f"{so_far}; {req.needed} are needed and {left}, so this can no longer be reached."
    left = f"the {req.open} left"
    if req.may_miss == 0:
        return f"{so_far} ({req.needed} needed); {who} need every one of {left}, so {who} can miss no more."
    return f"{so_far} ({req.needed} needed); {who} can miss at most {req.may_miss} more of {left}."
