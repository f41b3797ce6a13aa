"""What a person's platform membership should be, from the roster and the cohort file's ``roster.sync`` rules.

One pure function used by both sides: the roster feature (which queues a sync when the answer changes) and the
platform senders (which compute it again when they run the sync, from the roster as it is then, so that sync
tasks done late or out of order still leave each member as the roster says).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.cohort import Cohort
from bot.core.people import Person


@dataclass(frozen=True)
class Membership:
    """Server roles and channels (by name) someone should have."""

    roles: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def signature(self, user_id: str | None) -> str:
        """A stable text for "this account should have exactly this" (what the sync state remembers)."""
        return f"user={user_id or ''};roles={','.join(sorted(self.roles))};channels={','.join(sorted(self.channels))}"


NOTHING = Membership()


def sections_of(cohort: Cohort, person: Person) -> list[str]:
    """The sections ``person`` belongs to or runs: their roster sections and those whose facilitators name them."""
    names = {s.casefold(): (cohort.section(s).name if cohort.section(s) else s) for s in person.sections}
    me = {person.name.casefold(), person.email.casefold()}
    for meeting in cohort.sections:
        if me & {f.casefold() for f in meeting.facilitators}:
            names[meeting.name.casefold()] = meeting.name
    return sorted(names.values())


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
