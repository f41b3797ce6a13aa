"""Announcements in the console demo, typed through standard input: the preview asks for confirmation (Send or
Cancel, pressed with /press), DMs and channel posts appear once, and a scheduled one goes out as the clock passes."""

from __future__ import annotations

import re

from tests.bot.platforms.test_console import demo


def blocks(out: str, header: str) -> list[str]:
    """The bodies printed under ``header`` (``[DM to Ada Lovelace]``, ``[posted in #general]``): the indented
    lines after it."""
    found = []
    for part in out.split(header)[1:]:
        body = []
        for line in part.split("\n")[1:]:
            if line and not line.startswith("  "):
                break
            body.append(line)
        found.append("\n".join(body))
    return found


def test_announcements_in_the_console_demo() -> None:
    script = "\n".join(
        [
            "/as Grace",
            '/announce message:"Lecture 2 moves to **Thursday**, see [the schedule](https://example.org/s)" '
            "to:section:americas-tue dm:true",
            "/press 1",  # Send
            '/announce "Nothing to see" to:track:advanced',
            "/press 4",  # Cancel
            "/press 3",  # Send after Cancel: refused
            '/announce "Stipend forms are due Friday" to:all ping:true',
            "/press 5",
            '/announce "Quiet note" to:track:intro',
            "/press 7",
            '/announce "Quiz at noon" to:section:europe-wed dm:true at:"2026-01-12 12:00"',
            "/press 9",
            "/announcements",
            "/clock 2026-01-12 12:01",
            "/announcements id:1",
            "/as Ada",
            "/announce hi",
            "/as Alan",
            "/announce hi to:section:europe-wed",
        ]
    )
    result = demo(script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "Reaches\n  4 of 4" in out and "[1] Send\n  [2] Cancel" in out

    lecture = "Lecture 2 moves to Thursday, see the schedule (https://example.org/s)"
    dms = {
        name: [b for b in blocks(out, f"[DM to {name}]") if lecture in b]
        for name in re.findall(r"\[DM to ([^\]]+)\]", out)
    }
    assert sorted(n for n, got in dms.items() if got) == [
        "Ada Lovelace",
        "Alan Turing",
        "Hedy Lamarr",
        "Rosalind Franklin",
    ]
    assert all(len(got) <= 1 for got in dms.values())  # once each
    reports = blocks(out, "[DM to Grace Hopper]")
    assert any("Your announcement to section americas-tue reached 4 of 4." in r for r in reports)

    assert "Cancelled: announcement #2 was not sent, and nothing was queued." in out
    assert "Announcement #2 was cancelled" in out
    assert not [b for b in blocks(out, "[posted in #advanced-course]") if "Nothing to see" in b]

    pinged = blocks(out, "[posted in #general] @channel (pings everyone there)")
    assert len(pinged) == 1 and "Stipend forms are due Friday" in pinged[0]
    quiet = blocks(out, "[posted in #intro-course]")
    assert sum("Quiet note" in b for b in quiet) == 1

    before_clock, after_clock = out.split("/clock 2026-01-12 12:01")
    assert "Quiz at noon" not in before_clock.split("/press 9")[1].split("/announcements")[1]  # not early
    quiz = re.findall(r"\[DM to ([^\]]+)\]\n[^\[]*Quiz at noon", after_clock)
    assert sorted(quiz) == ["Emmy Noether", "Katherine Johnson", "Marie Curie"]
    assert "delivered 4 · pending 0 · failed 0 · not reachable 0 (of 4)" in after_clock

    assert "/announce is only for facilitators and organizers; you are a scholar." in out
    assert "You can only do that for your own sections (americas-tue); europe-wed is not one of them." in out
