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
            "/clock 2026-01-19 02:00",
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
    assert "no attendance report yet" in out
