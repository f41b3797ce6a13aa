"""Check-in windows on a virtual clock: a code opens a window, expires, refuses a wrong code and another
section's, locks a person out after 5 wrong tries, and a new code replaces the old one."""

from __future__ import annotations

import re
from datetime import timedelta

from cogs.attendance._checkin import ALPHABET
from tests.cogs.attendance_support import AMERICAS_W1, marks, ny, snapshot, text_of


async def open_code(as_, who: str = "Alan Turing", section: str = "americas-tue", **options) -> str:
    reply = await as_(who, "checkin-code", section=section, **options)
    assert reply.error is None and reply.private, reply.error
    return reply.message.title.split()[-1]


async def test_a_window_opens_counts_and_expires(app, as_, clock):
    clock.set(AMERICAS_W1 + timedelta(minutes=5))
    reply = await as_("Alan Turing", "checkin-code", section="americas-tue")
    code = reply.message.title.split()[-1]
    assert re.fullmatch(f"[{ALPHABET}]{{6}}", code) and not set(code) & set("0O1IL")
    assert reply.private and "works until 18:20 EST (15 minutes)" in text_of(reply)
    assert "week 1's meeting of americas-tue" in text_of(reply)

    ok = await as_("Ada Lovelace", "checkin", code=f" {code[:3].lower()}-{code[3:]} ")  # case, spaces, dashes
    assert ok.error is None and "You're checked in: present for week 1's meeting of americas-tue" in text_of(ok)
    again = await as_("Ada Lovelace", "checkin", code=code)
    assert "already marked present for week 1" in text_of(again)

    clock.advance(timedelta(minutes=14, seconds=59))  # 18:19:59: still open
    assert (await as_("Hedy Lamarr", "checkin", code=code)).error is None
    clock.advance(timedelta(seconds=1))  # 18:20: closed
    before = await snapshot(app)
    late = await as_("Rosalind Franklin", "checkin", code=code)
    assert late.error and "That code expired" in late.error and late.private
    assert await snapshot(app) == before
    assert await marks(app, "americas-tue", 1) == {"Ada Lovelace": "present", "Hedy Lamarr": "present"}


async def test_wrong_codes_lock_a_person_out_of_that_window_after_five(app, as_, clock):
    clock.set(AMERICAS_W1 + timedelta(minutes=1))
    code = await open_code(as_, minutes="30")
    wrong = "ZZZZZ2" if code != "ZZZZZ2" else "ZZZZZ3"
    answers = [await as_("Hedy Lamarr", "checkin", code=wrong) for _ in range(5)]
    assert [a.error is not None for a in answers] == [True] * 5
    assert "That is not the code for americas-tue's check-in. 4 more wrong tries" in answers[0].error
    assert "1 more wrong try and this check-in locks for you" in answers[3].error
    assert "That was wrong code number 5, so this check-in is now locked for you" in answers[4].error
    locked = await as_("Hedy Lamarr", "checkin", code=code)  # even the right code, now
    assert locked.error and "5 wrong codes for this check-in, so it is locked for you" in locked.error
    assert "Hedy Lamarr" not in await marks(app, "americas-tue", 1)
    # others are not affected, and a new window starts afresh for her
    assert (await as_("Ada Lovelace", "checkin", code=code)).error is None
    clock.advance(timedelta(minutes=5))
    fresh = await open_code(as_)
    assert (await as_("Hedy Lamarr", "checkin", code=fresh)).error is None


async def test_another_sections_code_is_refused(app, as_, clock):
    clock.set(AMERICAS_W1 + timedelta(minutes=1))
    americas = await open_code(as_)
    no_window = await as_("Emmy Noether", "checkin", code=americas)  # europe-wed has no window open now
    assert no_window.error == "That code is for americas-tue's check-in; you are in europe-wed."
    europe = await open_code(as_, "Katherine Johnson", "europe-wed")
    counted = await as_("Emmy Noether", "checkin", code=americas)  # her window is open: a wrong try
    assert "That code is for americas-tue's check-in; you are in europe-wed. 4 more wrong tries" in counted.error
    assert (await as_("Emmy Noether", "checkin", code=europe)).error is None
    assert await marks(app, "americas-tue", 1) == {}  # a code never marks someone in another section
    assert await marks(app, "europe-wed", 1) == {"Emmy Noether": "present"}  # counts for europe-wed's week 1


async def test_a_new_code_replaces_the_open_one(app, as_, clock):
    clock.set(AMERICAS_W1)
    old = await open_code(as_)
    clock.advance(timedelta(minutes=2))
    new = await open_code(as_)
    stale = await as_("Ada Lovelace", "checkin", code=old)
    assert stale.error and "That code has expired; your section has a newer one." in stale.error
    assert (await as_("Ada Lovelace", "checkin", code=new)).error is None


async def test_no_window_open_and_who_may_check_in(app, as_, clock):
    clock.set(ny(13, 12))
    before = await snapshot(app)
    none = await as_("Ada Lovelace", "checkin", code="ABCDEF")
    assert (
        none.error == "No check-in is open for americas-tue right now. Your facilitator opens one during the meeting."
    )
    staff = await as_("Alan Turing", "checkin", code="ABCDEF")
    assert staff.error and "/checkin is for scholars; you are a facilitator" in staff.error
    assert await snapshot(app) == before
    bad = await as_("Alan Turing", "checkin-code", section="americas-tue", minutes="0")
    assert bad.error and "minutes must be at least 1" in bad.error
    assert await snapshot(app) == before


async def test_a_check_in_before_the_meeting_counts_for_that_weeks_meeting(app, as_, clock):
    clock.set(ny(13, 17, 50))  # ten minutes early: "at any time"
    code = await open_code(as_)
    assert (await as_("Ada Lovelace", "checkin", code=code)).error is None
    assert await marks(app, "americas-tue", 1) == {"Ada Lovelace": "present"}
