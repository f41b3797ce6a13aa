"""The command line's files, each case run as a real ``cohortbot`` process in a directory of its own.

* The cohort file comes from ``--cohort`` or ``COHORTBOT_COHORT``; without either a command that reads it stops
  with one line saying so (it used to take ``config/example-cohort.yaml`` relative to wherever it ran: the
  example's due dates in a real course's export, or an error naming a file nobody had mentioned).
* An ``-o`` file (or standard output) that cannot be written is one line, ``cannot write PATH: why``, exit 1.
* A reader that goes away (``cohortbot export submissions | head -2``) ends the command quietly: exit 0 or 141
  (a shell's status for SIGPIPE), nothing on stderr.

The processes run a few at a time from one module fixture, so the file costs a few seconds.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser, main
from bot.core.exports import TableStream, write_csv
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER

PYTHON = [sys.executable, "-m", "bot.cli"]
CONCURRENT = 3
SCHOLARS = 300  # 2,400 rows of submissions export, about 200 KiB
NEEDS_COHORT = "needs the cohort file the bot runs with: give --cohort FILE or set COHORTBOT_COHORT"
EXAMPLE_WEEK_1_DUE = "2026-01-19T04:59:00+00:00"  # Sun 18 Jan 23:59 EST
OWN_WEEK_1_DUE = "2026-01-16T22:00:00+00:00"  # the test's own cohort: Fri 16 Jan 17:00 EST


@dataclass
class Run:
    """A ``cohortbot`` command to run in ``work``: its arguments, extra environment, and how stdout is wired."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdout: str = "capture"  # "capture", "closed" (a pipe whose reader is gone before it starts), or a file path


@dataclass
class Result:
    """What the process did."""

    code: int
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any COHORTBOT_, DISCORD_ or SLACK_ setting of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    return {**env, **extra}


def execute(run: Run, work: Path) -> Result:
    """Run one command (in ``work``, where no stray ``.env`` and no ``config/`` folder are found)."""
    options: dict[str, object] = {"cwd": work, "env": clean_env(**run.env), "stdin": subprocess.DEVNULL}
    if run.stdout == "closed":
        reader, writer = os.pipe()
        os.close(reader)  # as `| head` having read its lines: every write to it fails with EPIPE
        try:
            done = subprocess.run([*PYTHON, *run.args], stdout=writer, stderr=subprocess.PIPE, timeout=120, **options)
        finally:
            os.close(writer)
        return Result(done.returncode, "", done.stderr.decode(errors="replace"))
    if run.stdout != "capture":
        with open(run.stdout, "wb") as out:
            done = subprocess.run([*PYTHON, *run.args], stdout=out, stderr=subprocess.PIPE, timeout=120, **options)
        return Result(done.returncode, "", done.stderr.decode(errors="replace"))
    done = subprocess.run([*PYTHON, *run.args], capture_output=True, timeout=120, **options)
    return Result(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


def own_cohort(path: Path) -> Path:
    """The example cohort with week 1's homework due on Friday 17:00 instead of Sunday 23:59."""
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    assert data["weeks"][0]["homework"]["due"] == "2026-01-18 23:59"
    data["weeks"][0]["homework"]["due"] = "2026-01-16 17:00"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``bot.db`` (the example roster, imported) and ``own.yaml``; no ``config/`` inside."""
    work = tmp_path_factory.mktemp("clifiles")
    db = work / "bot.db"
    roster = work / "roster.csv"  # enough scholars for a submissions export larger than a pipe's buffer (64 KiB)
    extra = "".join(f"Scholar {n},s{n}@example.com,scholar,intro,europe-wed,,,,true\n" for n in range(SCHOLARS))
    roster.write_text(EXAMPLE_ROSTER.read_text() + extra)
    assert main(["roster", "import", str(roster), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]) == 0
    own_cohort(work / "own.yaml")
    (work / "a-file").write_text("not a folder\n")
    return work


def cases(work: Path) -> dict[str, Run]:
    db = ["--db", str(work / "bot.db")]
    cohort = ["--cohort", str(EXAMPLE_COHORT)]
    example_env = {"COHORTBOT_COHORT": str(EXAMPLE_COHORT)}
    return {
        # no cohort file named anywhere
        "export submissions, no cohort": Run(["export", "submissions", *db]),
        "export calendar, no cohort": Run(["export", "calendar", *db]),
        "roster codes, no cohort": Run(["roster", "codes", *db]),
        "roster import, no cohort": Run(["roster", "import", str(EXAMPLE_ROSTER), *db]),
        "run, no cohort": Run(["run", "--platform", "console", "--db", str(work / "never.db")]),
        # the cohort file named: its due dates, not the example's
        "export with --cohort": Run(
            ["export", "submissions", *db, "--cohort", "own.yaml"], stdout=str(work / "via-option.csv")
        ),
        "export with COHORTBOT_COHORT": Run(
            ["export", "submissions", *db], {"COHORTBOT_COHORT": "own.yaml"}, stdout=str(work / "via-env.csv")
        ),
        # files that cannot be written
        "-o in a missing folder": Run(["export", "roster", *db, *cohort, "-o", str(work / "missing" / "x.csv")]),
        "-o a folder": Run(["roster", "codes", *db, *cohort, "-o", str(work)]),
        "-o under a file": Run(["export", "calendar", *db, *cohort, "-o", str(work / "a-file" / "x.ics")]),
        "-o a full device": Run(["export", "submissions", *db, *cohort, "-o", "/dev/full"]),
        "stdout a full device": Run(["export", "stipends", *db], example_env, stdout="/dev/full"),
        # a reader that went away
        **{
            f"closed pipe: {' '.join(args)}": Run([*args, *db], example_env, stdout="closed")
            for args in (
                ["export", "submissions"],  # streamed from the database
                ["export", "attendance"],
                ["export", "roster"],  # a table in memory
                ["export", "calendar"],  # a file
                ["roster", "codes"],
            )
        },
        "closed pipe: check": Run(["check", str(EXAMPLE_COHORT)], stdout="closed"),
    }


@pytest.fixture(scope="module")
def results(work: Path) -> dict[str, Result]:
    """Every case's result, the processes run a few at a time."""
    runs = cases(work)
    with ThreadPoolExecutor(CONCURRENT) as pool:
        done = dict(zip(runs, pool.map(lambda run: execute(run, work), runs.values()), strict=True))
    return done


def one_line(result: Result) -> str:
    """The single line on stderr of a process that failed cleanly (exit 1, no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.code == 1, result
    return lines[0]


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("export submissions, no cohort", "export"),
        ("export calendar, no cohort", "export"),
        ("roster codes, no cohort", "roster codes"),
        ("roster import, no cohort", "roster import"),
    ],
)
def test_without_a_cohort_file_a_command_says_how_to_give_one(results, name: str, command: str) -> None:
    assert one_line(results[name]) == f"cohortbot: {command} {NEEDS_COHORT}"
    assert "example-cohort" not in results[name].stderr


def test_run_without_a_cohort_file_stops_before_creating_a_database(results, work: Path) -> None:
    line = one_line(results["run, no cohort"])
    assert line == "cohortbot: run needs a cohort file: give --cohort FILE or set COHORTBOT_COHORT"
    assert not (work / "never.db").exists()


def due_dates(path: Path) -> dict[str, set[str]]:
    """Week -> the due dates (UTC) in a submissions export."""
    dues: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        dues.setdefault(row["week"], set()).add(row["due_utc"])
    return dues


@pytest.mark.parametrize(
    ("name", "output"), [("export with --cohort", "via-option"), ("export with COHORTBOT_COHORT", "via-env")]
)
def test_an_export_uses_the_named_cohort_files_due_dates(results, work: Path, name: str, output: str) -> None:
    result = results[name]
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    dues = due_dates(work / f"{output}.csv")
    assert dues["1"] == {OWN_WEEK_1_DUE}, dues["1"]
    assert dues["2"] == {"2026-01-26T04:59:00+00:00"}  # unchanged weeks as the file has them
    assert EXAMPLE_WEEK_1_DUE not in dues["1"]


@pytest.mark.parametrize(
    ("name", "path", "why"),
    [
        ("-o in a missing folder", "missing/x.csv", "no such directory"),
        ("-o a folder", "", "it is a directory (give a file name)"),
        ("-o under a file", "a-file/x.ics", "a part of its path is not a directory"),
        ("-o a full device", "/dev/full", "no space left on the device"),
        ("stdout a full device", "standard output", "no space left on the device"),
    ],
)
def test_a_file_that_cannot_be_written_is_one_line(results, work: Path, name: str, path: str, why: str) -> None:
    if "/dev/full" in (path, "standard output") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    shown = path if path.startswith("/") or path == "standard output" else str(work / path).rstrip("/")
    assert one_line(results[name]) == f"cohortbot: cannot write {shown}: {why}"
    assert not (work / "missing").exists()


CLOSED = [name for name in cases(Path("/nowhere")) if name.startswith("closed pipe")]


@pytest.mark.parametrize("name", CLOSED)
def test_a_closed_pipe_ends_quietly(results, name: str) -> None:
    result = results[name]
    assert result.stderr == "", result.stderr
    assert result.code in (0, 141)


def test_a_reader_that_stops_after_two_lines(work: Path) -> None:
    """``| head -2`` for real, the reader gone while the export still has most of its rows to write."""
    env = clean_env(COHORTBOT_COHORT=str(EXAMPLE_COHORT))
    process = subprocess.Popen(
        [*PYTHON, "export", "submissions", "--db", str(work / "bot.db")],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    process.stdout.close()
    stderr = process.stderr.read().decode(errors="replace")
    assert process.wait(timeout=120) == 141
    assert lines[0].startswith(b"week,name,email") and lines[1].startswith(b"1,")
    assert stderr == ""


def test_help_shows_cohort_and_where_it_comes_from(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for command in (["export"], ["roster", "codes"], ["roster", "import"], ["run"], ["outbox", "retry"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--cohort FILE" in text, command
        if command[0] != "outbox":
            assert "COHORTBOT_COHORT" in text, command


async def test_a_failed_write_ends_the_streamed_read_at_once() -> None:
    """The rows' reader is closed when writing fails (before the caller closes its database), not left to the
    event loop's clean-up, which then reads from a closed connection and logs a traceback."""
    closed: list[bool] = []

    async def batches() -> AsyncIterator[list[list[int]]]:
        try:
            for n in range(10):
                yield [[n]]
        finally:
            closed.append(True)

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            if self.tell() > 10:
                raise OSError(28, "No space left on device")
            return super().write(text)

    with pytest.raises(OSError):
        await write_csv(TableStream(["n"], batches()), Full())
    assert closed == [True]
