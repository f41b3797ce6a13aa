"""Keeping platform membership (server roles, channels) in step with the roster, through the outbox.

For each person linked on the running platform, :func:`bot.membership.wanted` says what they should have; its
signature (with the account) is compared with what was last asked (table ``member_sync``). Only a change queues a
:class:`PlatformTask` ``member_sync`` keyed ``sync:<platform>:<person>:<generation>``, so start-ups, reloads and
repeated calls queue nothing twice. When an account is replaced, its predecessor gets a task too (to lose the
roles). The platform's sender works out the difference with what the member has when it runs the task, from the
roster as it is then (see ``bot/platforms/*/sender.py``), so late or reordered tasks are harmless.

Nothing is queued when the cohort file asks for no sync, or when the running platform's sender does not do
``member_sync`` tasks (its ``task_kinds``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.messages import Message
from bot.core.people import Person
from bot.core.platform import PlatformTask
from bot.delivery import NewItem
from bot.membership import wanted
from cogs.roster._store import SyncState, store

if TYPE_CHECKING:
    from bot.app import CohortBot

TASK = "member_sync"


def can_sync(app: CohortBot) -> bool:
    """Whether membership sync is asked for and the running platform does it."""
    sender = app.senders.get(app.platform)
    return app.cohort.roster.sync.enabled and TASK in getattr(sender, "task_kinds", ())


def task(person_id: int, user_id: str) -> PlatformTask:
    """The task that makes ``user_id``'s membership what the roster says for ``person_id`` (nothing, if the
    person's account there is another one by then)."""
    return PlatformTask(TASK, {"person_id": person_id, "user_id": user_id})


async def sync_people(app: CohortBot, people: list[Person] | None = None) -> int:
    """Queue a sync for each of ``people`` (default: everyone, removed included) whose membership should change;
    return how many tasks were queued."""
    if not can_sync(app):
        return 0
    platform = app.platform
    repo = store(app)
    if people is None:
        people = await app.people.all(include_removed=True)
        known = await repo.sync_states(platform)
    else:  # a few people (a /join, a /roster edit, an account linked): their own rows only
        known = await repo.sync_states(platform, [p.id for p in people])
    states: list[SyncState] = []
    items: list[NewItem] = []
    for person in people:
        user_id = person.platform_id(platform)
        before = known.get(person.id)
        if before is None and not user_id:
            continue  # never linked here: nothing to give or take
        signature = wanted(app.cohort, person).signature(user_id)
        if before is not None and before.signature == signature:
            continue
        generation = (before.generation if before else 0) + 1
        key = f"sync:{platform}:{person.id}:{generation}"
        if before is not None and before.user_id and before.user_id != user_id:
            items.append(NewItem(f"{key}:was:{before.user_id}", task(person.id, before.user_id), Message()))
        if user_id:
            items.append(NewItem(key, task(person.id, user_id), Message()))
        states.append(SyncState(person.id, user_id, signature, generation))
    if not states:
        return 0
    async with app.db.transaction():
        await repo.save_sync_states(platform, states)
        await app.outbox.enqueue_many(items)
    return len(items)
