"""The homework flow in the console demo, driven through standard input as a newcomer would type it."""

from __future__ import annotations

from tests.bot.platforms.test_console import demo


def test_homework_session_in_the_console_demo() -> None:
    script = "\n".join(
        [
            "/as Ada",
            "/submit week:1 link:https://example.com/ada-v1",
            '/submit week:1 text:"second version"',
            "/submit week:2",  # the form: link left blank, then the text
            "",
            "answered in the form",
            "/submit week:1 link:ftp://nope",
            "/as Alan",
            '/extend user:Hedy week:1 until:"2026-01-21 12:00"',
            '/extend user:Emmy week:1 until:"2026-01-21 12:00"',
            "/clock 2026-01-18 01:00",  # past the reminder (due - 24 h)
            "/clock 2026-01-19 02:00",  # past the due time and the digest (due + 1 h)
            "/as Rosalind",
            "/submit week:1 link:https://example.com/ros",
            "/as Hedy",
            "/submit week:1 link:https://example.com/hedy",
            "/as Alan",
            "/submissions week:1",
            "/as Grace",
            "/report kind:submissions",
            "/report kind:attendance",
        ]
    )
    result = demo(script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert out.count("Week 1 homework received") == 4
    assert "2nd submission for week 1" in out
    assert "[form] Week 2 homework" in out and "Run FGSM and PGD" in out
    assert "Week 2 homework received" in out and "answered in the form" in out
    assert "link must be a web link" in out
    assert "Hedy Lamarr now has until" in out
    assert "Emmy Noether is not in one of your sections" in out
    assert "Late: 2 h 1 min after the deadline" in out  # Rosalind, 02:00 for 23:59
    assert "On time (your extension until" in out  # Hedy
    assert "3 of 3 submitted (1 late)" in out  # Ada; Rosalind late; Hedy on time by her extension
    assert "[file: submissions-" in out
    assert "[file: attendance-" in out and ".png" in out  # the attendance report and its chart
    # DMs through the outbox as the clock passed the reminder and the digest
    dms = [block.split("\n\n")[0] for block in out.split("[DM to ")[1:]]
    reminded = sorted(d.split("]")[0] for d in dms if "Reminder: week 1 homework" in d)
    assert reminded == [
        "Emmy Noether",
        "John von Neumann",
        "Marie Curie",
        "Rosalind Franklin",
        "Srinivasa Ramanujan",
        "Tu Youyou",
    ]
    assert any(d.startswith("Hedy Lamarr]") and "Extension for week 1" in d for d in dms)
    digests = sorted(d.split("]")[0] for d in dms if "Week 1 homework digest" in d)
    assert digests == ["Alan Turing", "Claude Shannon", "Katherine Johnson"]
