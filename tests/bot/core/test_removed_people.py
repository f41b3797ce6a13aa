"""Someone removed from the roster cannot be named in a command (it is refused clearly and changes nothing), except
where a command is about the roster itself; a removed namesake never makes a name ambiguous."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.context import Place
from tests.plugin import RunAs, console_actor


async def outbox_and_marks(app: CohortBot) -> tuple[int, int, int]:
    outbox = await app.db.fetchval("SELECT COUNT(*) FROM outbox")
    extensions = await app.db.fetchval("SELECT COUNT(*) FROM extensions")
    marks = await app.db.fetchval("SELECT COUNT(*) FROM attendance")
    return outbox, extensions, marks


async def test_commands_refuse_someone_removed_and_change_nothing(app: CohortBot, as_: RunAs, clock) -> None:
    removed = await as_("Grace Hopper", "roster", action="remove", user="Rosalind Franklin")
    assert removed.error is None
    meeting = await app.meetings.get("americas-tue", 1)
    clock.set(meeting.start + (meeting.end - meeting.start) / 2)
    before = await outbox_and_marks(app)
    attempts = [
        ("Grace Hopper", "extend", {"user": "Rosalind", "week": "1", "until": "2026-01-20 12:00"}),
        ("Grace Hopper", "stipend", {"user": "Rosalind Franklin"}),
        ("Alan Turing", "attendance", {"section": "americas-tue", "week": "1", "present": "Rosalind, Ada"}),
        ("Alan Turing", "pair start", {"section": "americas-tue", "people": "Rosalind, Ada, Hedy"}),
    ]
    for who, command, options in attempts:
        reply = await as_(who, command, **options)
        assert reply.private and reply.error, (command, reply)
        assert "Rosalind Franklin was removed from the roster" in reply.error, (command, reply.error)
        assert "error id" not in reply.error
    assert await outbox_and_marks(app) == before
    # /roster is about the roster: it still finds them (to show them, or their log)
    shown = await as_("Grace Hopper", "roster", action="show", user="Rosalind Franklin")
    assert shown.error is None


async def test_a_removed_namesake_does_not_make_a_name_ambiguous(app: CohortBot, as_: RunAs) -> None:
    options = {"action": "add", "name": "Ada Lovelace", "email": "ada.new@example.com", "role": "scholar",
               "track": "intro", "section": "americas-tue"}  # fmt: skip
    added = await app.dispatch(await console_actor(app, "Grace Hopper"), "roster", options, Place(channel_name="c"))
    assert added.error is None
    new_id = (await app.people.by_email("ada.new@example.com")).id
    assert f"also called Ada Lovelace; in commands, name this one #{new_id} or by email." in added.message.text
    both = await as_("Grace Hopper", "extend", user="Ada Lovelace", week="1", until="2026-01-20 12:00")
    assert both.error and "Several people on the roster are called Ada Lovelace" in both.error
    assert "Give the #number or their email" in both.error
    new = await app.people.by_email("ada.new@example.com")
    assert f"#{new.id}" in both.error

    old = await app.people.by_name("Ada Lovelace")
    original = next(p for p in old if p.id != new.id)
    await as_("Grace Hopper", "roster", action="remove", user=f"#{original.id}")
    granted = await as_("Grace Hopper", "extend", user="Ada Lovelace", week="1", until="2026-01-20 12:00")
    assert granted.error is None and "Ada Lovelace now has until" in granted.message.text
    assert (await app.db.fetchval("SELECT person_id FROM extensions")) == new.id
