"""Shared by the roster feature's parts: its store, linking an account (logged and synced), telling organizers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.core.messages import Message
from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget
from bot.core.roles import Role
from bot.delivery import NewItem
from bot.storage.people import IdentityTaken, NewLinks
from cogs.roster._store import store
from cogs.roster._sync import sync_people

if TYPE_CHECKING:
    from bot.app import CohortBot

__all__ = ["IdentityTaken", "describe", "link_account", "link_found", "store", "tell_organizers"]


def describe(person: Person) -> str:
    """``scholar, intro, americas-tue`` (role, track and sections)."""
    parts = [person.role.label]
    if person.track:
        parts.append(person.track)
    parts += list(person.sections)
    return ", ".join(parts)


async def link_account(
    app: CohortBot, person: Person, platform: str, user_id: str, *, by: Person | None, by_text: str
) -> Person:
    """Link ``user_id`` on ``platform`` to ``person`` (replacing their earlier account there), record who did it,
    and queue the membership sync, all in one transaction; the person as they are now.

    Raises :class:`IdentityTaken` (changing nothing) if the account is someone else's.
    """
    now = app.clock.now()
    earlier = person.platform_id(platform)
    detail = f"{platform} account {user_id}"
    if earlier and earlier != user_id:
        detail += f" (replacing {earlier})"
    try:
        async with app.db.transaction():
            await app.people.link(person.id, platform, user_id, now)
            await store(app).record(person.id, now, by.id if by else None, by.name if by else by_text, "linked", detail)
            linked = await app.people.get(person.id)
            assert linked is not None
            await sync_people(app, [linked])
    finally:
        # A lookup by account made while the transaction was open read the roster as it was before (or, rolled
        # back, as it still is): forget it, whatever happened.
        app.people.invalidate()
    return linked


async def link_found(app: CohortBot, platform: str, accounts: Mapping[int, str], *, by_text: str) -> NewLinks:
    """Link the accounts a platform found for people (``person id -> user id``, by email, say) in one transaction,
    whatever their number: the accounts are linked, each link is recorded (by ``by_text``), and the membership
    sync of those linked is queued (one ``enqueue_many``); the people cache is forgotten once.

    The rules of :func:`link_account` hold for each, without replacing anything: an account that is someone
    else's is ``taken`` (not linked), and a person linked there meanwhile, removed or gone is left alone
    (``skipped``), as the transaction finds them. Inside a caller's transaction, the caller forgets the people
    cache again once it has committed (see :func:`link_account`).
    """
    now = app.clock.now()
    try:
        async with app.db.transaction():
            result = await app.people.link_new(platform, accounts, now)
            if result.linked:
                details = {p.id: f"{platform} account {p.identities[platform]}" for p in result.linked}
                await store(app).record_many(details, now, None, by_text, "linked")
                await sync_people(app, result.linked)
    finally:
        app.people.invalidate()
    return result


async def tell_organizers(app: CohortBot, key: str, message: Message) -> int:
    """Queue ``message`` for the organizers: in the cohort file's ``roster.organizer_channel`` if set, else as a DM
    to each organizer with an account on this platform. ``key`` makes it once-only; returns how many were queued
    (0 if there is nobody to tell)."""
    channel = app.cohort.roster.organizer_channel
    if channel:
        items = [NewItem(key, ChannelTarget(channel), message)]
    else:
        organizers = await app.people.with_role(Role.ORGANIZER)
        items = [
            NewItem(f"{key}:dm:{p.id}", DMTarget(p.id), message) for p in organizers if p.platform_id(app.platform)
        ]
    if not items:
        return 0
    await app.outbox.enqueue_many(items)
    return len(items)
