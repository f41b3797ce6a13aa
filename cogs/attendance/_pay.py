"""Facilitator pay: the meetings they held (attendance taken, not cancelled), each meeting's length plus
``stipend.facilitator_prep_minutes``, times ``stipend.facilitator_hourly_rate``, plus organizers' adjustments.

A meeting is credited to everyone who runs its section (co-facilitators each ran it), by the one rule of
:mod:`bot.membership`: an organizer running a section is paid like a facilitator, and someone removed from the
roster is paid no more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from bot.core.clock import from_db, to_db
from bot.core.people import Person
from bot.membership import runners, sections_run_by
from cogs.attendance._common import repo

if TYPE_CHECKING:
    from bot.app import CohortBot

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Adjustment:
    """An organizer's change to someone's pay."""

    amount: Decimal
    reason: str
    added_by: int | None
    added_at: datetime


@dataclass(frozen=True)
class Held:
    """One meeting a facilitator is paid for."""

    section: str
    week: int
    minutes: int  # the meeting's length plus preparation


@dataclass(frozen=True)
class Pay:
    """One facilitator's hours and pay."""

    person: Person
    sections: list[str]
    held: list[Held]
    rate: Decimal | None
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        """Paid minutes: meetings plus preparation."""
        return sum(h.minutes for h in self.held)

    @property
    def hours(self) -> Decimal:
        """Paid hours, to two decimals."""
        return (Decimal(self.minutes) / 60).quantize(CENT, ROUND_HALF_UP)

    @property
    def base(self) -> Decimal:
        """Hours times the rate, to the cent (0 without a rate)."""
        if self.rate is None:
            return Decimal(0)
        return (Decimal(self.minutes) * self.rate / 60).quantize(CENT, ROUND_HALF_UP)

    @property
    def adjusted(self) -> Decimal:
        """The sum of the adjustments."""
        return sum((a.amount for a in self.adjustments), Decimal(0))

    @property
    def total(self) -> Decimal:
        """What they are owed."""
        return self.base + self.adjusted


def hours_text(hours: Decimal) -> str:
    """``1.5``, ``2``, ``0.75``."""
    text = f"{hours.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def cents(amount: Decimal) -> int:
    """``12.5`` -> ``1250``."""
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


async def add_adjustment(app: CohortBot, person_id: int, amount: Decimal, reason: str, by: int, now: datetime) -> None:
    """Record an adjustment (kept forever, with who added it and when)."""
    await app.db.execute(
        "INSERT INTO pay_adjustments (person_id, amount_cents, reason, added_by, added_at) VALUES (?, ?, ?, ?, ?)",
        (person_id, cents(amount), reason, by, to_db(now)),
    )


async def adjustments(app: CohortBot, only: int | None = None) -> dict[int, list[Adjustment]]:
    """Every adjustment (or only ``only``'s), by person id, oldest first."""
    if only is None:
        rows = await app.db.fetchall("SELECT * FROM pay_adjustments ORDER BY id")
    else:
        rows = await app.db.fetchall("SELECT * FROM pay_adjustments WHERE person_id = ? ORDER BY id", (only,))
    out: dict[int, list[Adjustment]] = {}
    for r in rows:
        out.setdefault(r["person_id"], []).append(
            Adjustment(Decimal(r["amount_cents"]) / 100, r["reason"], r["added_by"], from_db(r["added_at"]))
        )
    return out


async def facilitator_pay(app: CohortBot, only: int | None = None) -> list[Pay]:
    """Every facilitator's pay (or only the person ``only``: then only their sections are read), by name."""
    rule = app.cohort.stipend
    people: dict[int, Person] = {}
    sections: dict[int, list[str]] = {}
    if only is None:  # everyone who runs a section, each with the sections their own view shows
        for person, mine in await runners(app):
            people[person.id], sections[person.id] = person, mine
    else:
        person = await app.people.get(only)
        mine = sections_run_by(app.cohort, person, person.role) if person is not None else []
        if person is not None and mine:
            people[only], sections[only] = person, mine
    if not people:
        return []
    if only is None:
        found = await app.meetings.all()
        recorded = await repo(app).all_recorded()
    else:
        found = [m for s in sections[only] for m in await app.meetings.of_section(s)]
        recorded = await repo(app).all_recorded(sections[only])
    by_section: dict[str, list[Held]] = {}
    for m in sorted(found, key=lambda m: (m.week, m.name)):
        if m.held and (m.name.casefold(), m.week) in recorded:
            held = Held(m.name, m.week, m.minutes + rule.facilitator_prep_minutes)
            by_section.setdefault(m.name.casefold(), []).append(held)
    extra = await adjustments(app, only)
    out = []
    for pid, person in sorted(people.items(), key=lambda kv: kv[1].name.casefold()):
        mine = [h for s in sections[pid] for h in by_section.get(s.casefold(), [])]
        held = sorted(mine, key=lambda h: (h.week, h.section))
        out.append(Pay(person, sections[pid], held, rule.facilitator_hourly_rate, extra.get(pid, [])))
    return out
