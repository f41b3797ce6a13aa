"""The console demo, driven through standard input in a subprocess, as a newcomer would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def demo(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_readings_from_a_pipe() -> None:
    result = demo("/as Ada\n/readings\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "You are now Ada Lovelace (scholar)" in out
    assert "Week 1: Why ML safety? An overview of the field (intro track)" in out
    assert "Unsolved Problems in ML Safety" in out
    assert "due Sun 18 Jan 2026, 23:59 EST (in 6 days)" in out
    assert "Traceback" not in out + result.stderr


def test_a_whole_session() -> None:
    script = "\n".join(
        [
            "/readings week:2",
            "/readings week:9",
            "/timezone zone:berlin",
            "/timezone zone:Europe/Berlin",
            "/readings week:1",
            "/as Alan",
            "/help",
            "/as Nobody At All",
            "/frobnicate",
            "readings",
            '/readings week:"unclosed',
            "/clock +1d",
            "/quit",
            "/help",  # never reached
        ]
    )
    out = demo(script + "\n").stdout
    assert "Week 2: Robustness to adversaries" in out
    assert "There is no week 9: this cohort has weeks 1–8." in out
    assert "Did you mean `Europe/Berlin`?" in out
    assert "Your time zone is now **Europe/Berlin**" not in out  # markup is rendered for the console
    assert "Your time zone is now Europe/Berlin" in out
    assert "due Mon 19 Jan 2026, 05:59 CET" in out  # Ada now sees Berlin time
    assert "You are now Alan Turing (facilitator)" in out
    assert "You run: americas-tue" in out
    assert "Nobody matches 'Nobody At All'" in out
    assert "I don't know the command /frobnicate" in out
    assert "Commands start with a slash" in out
    assert "is never closed" in out and "Usage: `/readings [week:<week>]`" in out
    assert "It is now Tue 13 Jan 2026, 08:00 EST" in out
    assert out.count("what you can do") == 1


def test_default_person_and_start_time() -> None:
    out = demo("/help\n").stdout
    assert "You are Ada Lovelace (scholar). It is Mon 12 Jan 2026, 08:00 EST." in out


def test_forms_and_messages_a_command_queues_show_at_once() -> None:
    script = '/as Alan\n/extend user:Hedy week:1 until:"2026-01-20 12:00"\n/as Ada\n/submit week:1\n\nmy answer\n'
    out = demo(script).stdout
    granted, switched = out.index("Extension granted"), out.index("Ada Lovelace> /submit")
    assert granted < out.index("[DM to Hedy Lamarr]") < switched  # the DM is delivered right after /extend
    assert "Week 1: Risk decomposition, due Sun 18 Jan 2026, 23:59 EST." in out  # the form's intro, rendered
    assert "<t:" not in out and "**" not in out
    assert 'What I recorded\n  "my answer"' in out
