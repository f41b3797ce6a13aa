"""Linking people by email where the platform can look accounts up (``app.linkers``; on Slack, say).

* :func:`link_by_email`: every unlinked email of the roster is looked up; found accounts are linked, the rest
  reported. An email not found is not looked up again within :data:`LOOKUP_AGAIN_AFTER`. With more than
  :data:`BULK_FROM` to look up, the platform's directory is read once instead (the linker's optional
  ``directory()``: on Slack ``users.list``, a call per 1,000 members, so 20,000 people cost ~20 calls, not ~400
  minutes of one ``users.lookupByEmail`` each); with a few, each email is looked up (the linker paces itself
  to the platform's rate limit and waits out 429s). Those found are linked :data:`LINK_BATCH` at a time, each
  batch in one transaction (their lookups recorded, accounts linked, links logged, membership sync queued with
  one ``enqueue_many``: see :func:`cogs.roster._common.link_found`), so 20,000 found cost 40 transactions, not
  20,000. Run by the upkeep (start-up, reload, after an import) and by ``/roster add``.
* :class:`EmailIdentifier` (one of ``app.identifiers``): an unknown account that runs a command, or that the
  platform says just joined (with its email), is linked to the roster person with that email if that person has
  no account there yet. Misses are remembered for :data:`MISS_SECONDS`, so a stranger's commands do not each
  cost a lookup.

Linking by email trusts the platform's own verified email; it never moves an account already linked to someone
else, and never replaces a person's linked account (that takes a join code or an organizer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.people import Person
from bot.core.platform import Linker, LinkError
from bot.core.util import batched
from bot.storage.people import NewLinks
from cogs.roster._common import link_found
from cogs.roster._store import store

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
LOOKUP_AGAIN_AFTER = timedelta(hours=1)
# More emails to look up than this (a minute of lookups at Slack's Tier 3) and the linker has a directory: read the
# member list instead (Slack's users.list: a call per 1,000 members), not a lookup each.
BULK_FROM = 50
LINK_BATCH = 500  # found people linked per transaction (with their lookups, change log and membership sync)
MISS_SECONDS = 600.0


@dataclass
class LinkReport:
    """What one run of :func:`link_by_email` did on one platform."""

    platform: str
    looked_up: int = 0
    linked: list[Person] = field(default_factory=list)
    missing: list[Person] = field(default_factory=list)
    first_missing: int = 0  # of ``missing``, those never looked up before (news for the organizers)
    taken: list[tuple[Person, str]] = field(default_factory=list)  # (person, the account's holder)
    error: str | None = None

    def lines(self) -> list[str]:
        """What happened, for the log and the command line."""
        if not self.looked_up and not self.error:
            return []
        taken = f", account already someone else's {len(self.taken)}" if self.taken else ""
        out = [
            f"{self.platform}: looked up {self.looked_up} email(s): linked {len(self.linked)}, "
            f"not found {len(self.missing)}{taken}"
        ]
        if self.missing:
            out.append("  not found: " + ", ".join(f"{p.name} <{p.email}>" for p in self.missing))
        for person, holder in self.taken:
            out.append(f"  {person.name} <{person.email}>: that account is already {holder}'s on the roster")
        if self.error:
            out.append(f"  stopped: {self.error}")
        return out


async def link_by_email(app: CohortBot, people: list[Person] | None = None) -> list[LinkReport]:
    """Look up and link the unlinked ``people`` (default: everyone on the roster) on every platform with a linker.

    Run for everyone (``people`` left out), emails not found within :data:`LOOKUP_AGAIN_AFTER` are not asked about
    again yet. More than :data:`BULK_FROM` left to look up, and the linker has a ``directory()``: the platform's
    member list is read once (a call per page of members) instead of a lookup each.
    """
    reports = []
    for platform, linker in list(app.linkers.items()):
        report = LinkReport(platform)
        reports.append(report)
        if people is None:  # read only the unlinked: once most are linked, a few rows, not the whole roster
            candidates = await app.people.unlinked(platform)
        else:
            candidates = [p for p in people if not p.removed and not p.platform_id(platform)]
        if not candidates:
            continue
        repo = store(app)
        recent = await repo.lookups(platform, (p.email for p in candidates))
        now = app.clock.now()
        if people is None:  # not found a moment ago: do not ask again yet
            candidates = [p for p in candidates if not _missed_lately(recent.get(p.email.casefold()), now)]
        directory = getattr(linker, "directory", None)
        if callable(directory) and len(candidates) > BULK_FROM:
            outcomes = await _from_directory(directory, candidates, report)
        else:
            outcomes = await _one_by_one(linker, candidates, report)
        asked = [p for p in candidates if p.email in outcomes]  # not those the lookups stopped before
        for batch in batched(asked, LINK_BATCH):
            await _link_batch(app, platform, batch, outcomes, report)
        for person in asked:
            if outcomes[person.email] is None:
                report.missing.append(person)
                report.first_missing += person.email.casefold() not in recent
        for line in report.lines():
            log.info("%s", line)
    return reports


async def _link_batch(
    app: CohortBot, platform: str, batch: list[Person], outcomes: dict[str, str | None], report: LinkReport
) -> None:
    """Record what the lookups of ``batch`` found and link those found, in one transaction (see
    :func:`link_found`); the people cache is forgotten once it has committed."""
    found = {p.id: user_id for p in batch if (user_id := outcomes[p.email])}
    try:
        async with app.db.transaction():
            await store(app).record_lookups(platform, {p.email: outcomes[p.email] for p in batch}, app.clock.now())
            result = await link_found(app, platform, found, by_text="email lookup") if found else NewLinks()
    finally:
        app.people.invalidate()
    report.linked += result.linked
    report.taken += [(p, result.taken[p.id]) for p in batch if p.id in result.taken]
    if result.skipped:
        log.info("%d found on %s were linked or removed meanwhile: left as they are", len(result.skipped), platform)


def _missed_lately(seen: tuple[str | None, datetime] | None, now: datetime) -> bool:
    """Whether a lookup found nobody within :data:`LOOKUP_AGAIN_AFTER`."""
    return seen is not None and seen[0] is None and now - seen[1] < LOOKUP_AGAIN_AFTER


async def _from_directory(
    directory: Callable[[], Awaitable[dict[str, str]]], candidates: list[Person], report: LinkReport
) -> dict[str, str | None]:
    """Every candidate's account (or ``None``) from one read of the platform's directory."""
    try:
        accounts = await directory()
    except LinkError as exc:
        report.error = exc.reason
        log.error("linking by email on %s stopped: %s", report.platform, exc.reason)
        return {}
    report.looked_up = len(candidates)
    return {p.email: accounts.get(p.email.casefold()) for p in candidates}


async def _one_by_one(linker: Linker, candidates: list[Person], report: LinkReport) -> dict[str, str | None]:
    """Each candidate's account (or ``None``), a lookup each, until the linker cannot look anyone up."""
    outcomes: dict[str, str | None] = {}
    for person in candidates:
        try:
            outcomes[person.email] = await linker.find_by_email(person.email)
        except LinkError as exc:
            report.error = exc.reason
            log.error("linking by email on %s stopped: %s", report.platform, exc.reason)
            break
        report.looked_up += 1
    return outcomes


class EmailIdentifier:
    """Links an unknown account by its email (see the module docstring); registered in ``app.identifiers``."""

    def __init__(self) -> None:
        self._misses: dict[tuple[str, str], float] = {}

    async def __call__(self, app: CohortBot, platform: str, user_id: str, email: str | None) -> Person | None:
        key = (platform, user_id)
        missed = self._misses.get(key)
        if missed is not None and time.monotonic() - missed < MISS_SECONDS:
            return None
        how = "email (joined the workspace)" if email else "email (first command)"
        if email is None:
            linker = app.linkers.get(platform)
            if linker is None:
                return None  # nothing to ask here: not remembered, a linker may come
            try:
                email = await linker.email_of(user_id)
            except LinkError as exc:
                log.warning("could not read the email of %s account %s: %s", platform, user_id, exc.reason)
                email = None
        person = await app.people.by_email(email) if email else None
        if person is None or person.removed or person.platform_id(platform):
            self._misses[key] = time.monotonic()
            return None
        result = await link_found(app, platform, {person.id: user_id}, by_text=how)
        if not result.linked:  # the account is someone else's, or the person was linked or removed meanwhile
            self._misses[key] = time.monotonic()
            return None
        linked = result.linked[0]
        log.info("linked %s account %s to %s by its email", platform, user_id, person.name)
        self._misses.pop(key, None)
        return linked
