"""The whole attendance and stipend flow in the console demo (``cohortbot demo`` in a subprocess), typed line by
line as a person would: the check-in code is random, so each line is sent after the answer to the previous one
has been read."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # seconds for one answer, at most (the machine may be busy)


class Demo:
    """``cohortbot demo`` with its standard input and output as pipes."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.text = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, since: int = 0) -> str:
        """Read until ``pattern`` (a regular expression) appears after position ``since``; return the new text."""
        deadline = time.monotonic() + WAIT
        while not re.search(pattern, self.text[since:]):
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise AssertionError(f"no {pattern!r} in the demo's output:\n{self.text[since:][-3000:]}")
            try:
                self.text += self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
        return self.text[since:]

    def say(self, line: str, expect: str) -> str:
        """Type ``line``; return the output from its echo until ``expect`` has appeared."""
        since = len(self.text)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.wait_for(expect, since)

    def close(self) -> tuple[int, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=WAIT)
        while not self.lines.empty():
            self.text += self.lines.get()
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


def test_attendance_and_stipends_in_the_console_demo() -> None:
    demo = Demo()
    try:
        demo.wait_for("cohortbot demo: ")
        demo.say("/as Alan", "You are now Alan Turing")
        demo.say("/clock 2026-01-13 18:05", "It is now Tue 13 Jan 2026, 18:05")
        opened = demo.say("/checkin-code section:americas-tue", r"5 wrong codes lock")
        code = re.search(r"Check-in code for americas-tue: ([A-Z0-9]{6})", opened).group(1)
        assert "(only you can see this)" in opened
        demo.say("/as Ada", "You are now Ada")
        assert "You're checked in" in demo.say(f"/checkin code:{code.lower()}", "checked in|⚠️")
        demo.say("/as Hedy", "You are now Hedy")
        assert "4 more wrong tries" in demo.say("/checkin code:ZZZZZ9", "tries|⚠️")

        # the checklist: numbered controls, pre-filled from the check-in; tick, then Save
        demo.say("/as Alan", "You are now Alan")
        shown = demo.say("/attendance section:americas-tue", r"/press N")
        assert "Pre-filled: 1 of 3 present (Ada Lovelace)" in shown
        select = re.search(r"\[(\d+)\] Who was there\? \(choose several\): 1\) Ada Lovelace ✓  2\) Hedy Lamarr", shown)
        assert select, shown
        ticked = demo.say(f"/press {select.group(1)} 1,2", r"/press N")
        assert "(replaces the message above)" in ticked and "Ticked, not saved yet: 2 of 3 present" in ticked
        save = re.search(r"\[(\d+)\] Save", ticked).group(1)
        saved = demo.say(f"/press {save}", r"history:true")
        assert "Attendance recorded: americas-tue, week 1" in saved and "Absent (1): Rosalind Franklin" in saved
        stale = demo.say(f"/press {save}", "⚠️")
        assert "was saved since this checklist was shown" in stale

        # the typed form: an excuse with its reason, two more weeks without Ada (one with a make-up), bad input
        fixed = demo.say('/attendance section:americas-tue week:1 excused:Rosalind reason:"ill"', "history:true")
        assert "Rosalind Franklin: absent → excused" in fixed
        demo.say("/clock 2026-01-20 19:10", "It is now")
        demo.say('/attendance section:americas-tue present:"Hedy, Rosalind"', "history:true")
        demo.say("/clock 2026-01-27 19:10", "It is now")
        makeup = demo.say('/attendance section:americas-tue present:"Hedy, Rosalind, Emmy Noether"', "history:true")
        assert "Emmy Noether (europe-wed: a make-up for their own week 3 meeting)" in makeup
        both = demo.say('/attendance section:americas-tue week:3 present:Ada excused:Ada reason:"x"', "⚠️")
        assert "Ada Lovelace is marked both present and excused: choose one." in both
        future = demo.say("/attendance section:americas-tue week:5 present:Ada", "⚠️")
        assert "has not started yet" in future
        unknown = demo.say("/attendance section:americas-tue week:3 present:Zorro", "⚠️")
        assert "Nobody called 'Zorro' is on the roster" in unknown

        # the clock passes week 3's end: the at-risk alert reaches Ada (kindly) and Alan, once
        moved = demo.say("/clock 2026-02-02 12:00", r"Stipend alerts for your section")
        assert moved.count("[DM to Ada Lovelace]") >= 1
        heads_up = [b for b in moved.split("[DM to Ada Lovelace]")[1:] if "section meeting(s)" in b.split("\n[")[0]]
        assert len(heads_up) == 1 and "A friendly heads-up about your stipend" in heads_up[0]
        later = demo.say("/clock +1d", "It is now")
        assert "section meeting(s)" not in later  # sent once

        # /stipend for each role
        demo.say("/as Ada", "You are now Ada")
        mine = demo.say("/stipend", r"As of ")
        assert "you need every one of the 5 left, so you can miss no more" in mine and "At risk" in mine
        demo.say("/as Alan", "You are now Alan")
        pay = demo.say("/stipend", r"Rosalind Franklin")
        assert "3 meeting(s) held (attendance taken) in americas-tue: 4.5 hours" in pay and "USD 180" in pay
        demo.say("/as Grace", "You are now Grace")
        everyone = demo.say("/stipend", r"Tu Youyou")
        assert "Stipends: everyone" in everyone and "Committed: USD 0" in everyone
        adjusted = demo.say('/stipend-adjust user:Alan amount:20 reason:"covered a session"', r"adjustments USD|⚠️")
        assert "Their pay is now USD 200" in adjusted

        # the reports: CSVs, and the chart for attendance
        report = demo.say("/report kind:attendance", r"\.png, \d+ bytes\]")
        assert re.search(r"\[file: attendance-2026-02-03-\d{4}\.csv, \d+ bytes\]", report)
        stipends = demo.say("/report kind:stipends", r"\[file: stipends-")
        assert "Stipends report" in stipends
    finally:
        code, errors = demo.close()
    assert code == 0, errors
    assert "Traceback" not in demo.text + errors
