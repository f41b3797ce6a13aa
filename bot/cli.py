"""The ``cohortbot`` command line: check, roster import, run, demo, export, slack-manifest."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

from bot.app import CohortBot
from bot.cohort import Cohort, CohortError, load_cohort
from bot.core.clock import ManualClock, SystemClock
from bot.core.errors import StartupError
from bot.core.exports import TableStream
from bot.core.exports import write_csv as write_rows
from bot.core.messages import Table, format_local
from bot.core.platform import FatalPlatformError
from bot.instance import AlreadyRunning, Holder, InstanceLock, lock_path, running
from bot.platforms import PlatformSpec, platforms
from bot.roster import RosterFileError, import_roster, import_roster_file, read_roster
from bot.settings import Settings, read_settings
from bot.storage.db import unavailable_reason
from bot.web import WebServer, wanted
from schedules.runtime import Runtime, plan

log = logging.getLogger("cohortbot")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_COHORT = PACKAGE_ROOT / "config" / "example-cohort.yaml"
EXAMPLE_ROSTER = PACKAGE_ROOT / "config" / "example-roster.csv"


class CliError(Exception):
    """A problem to print (without a traceback) before exiting with status 1."""


def cohort_file(args: argparse.Namespace, settings: Settings, command: str) -> str:
    """The cohort file ``--cohort`` or ``COHORTBOT_COHORT`` names; :class:`CliError` if neither does.

    There is no default: the example cohort would silently give its own weeks and due dates instead of the
    course's, and the database does not record which file the bot runs with.
    """
    path = args.cohort or settings.cohort
    if not path:
        which = "a cohort file" if command == "run" else "the cohort file the bot runs with"
        raise CliError(f"{command} needs {which}: give --cohort FILE or set COHORTBOT_COHORT")
    return path


def existing_db(args: argparse.Namespace, settings: Settings, command: str) -> str:
    """The database ``--db`` or ``COHORTBOT_DB`` names, which must exist: reading commands create none."""
    db_path = args.db or settings.db
    if not Path(db_path).is_file():
        problem = f"{db_path} is a directory" if Path(db_path).is_dir() else f"there is no database at {db_path}"
        raise CliError(f"{problem}: give the bot's database with --db or COHORTBOT_DB ({command} creates none)")
    return db_path


WRITE_PROBLEMS = {
    errno.ENOENT: "no such directory",
    errno.EISDIR: "it is a directory (give a file name)",
    errno.ENOTDIR: "a part of its path is not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
}


def check_output(output: str | None) -> None:
    """Refuse an ``-o`` file that cannot be written (before any work, and without creating or emptying it)."""
    if not output:
        return
    target = Path(output)
    if target.is_dir():
        code = errno.EISDIR
    elif not target.parent.is_dir():
        code = errno.ENOTDIR if target.parent.exists() else errno.ENOENT
    else:
        return
    raise CliError(f"cannot write {output}: {WRITE_PROBLEMS[code]}")


@contextlib.contextmanager
def writing(output: str) -> Iterator[None]:
    """Turn a failure to write ``output`` into one line: ``cannot write OUTPUT: why`` (a closed pipe is no failure:
    :func:`main` ends quietly)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        why = WRITE_PROBLEMS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
        raise CliError(f"cannot write {output}: {why}") from None


def calendar_table(cohort: Cohort) -> Table:
    """Week by week: when it starts, when its material is posted, and when homework is due (cohort time)."""
    zone = cohort.zone
    rows = []
    for w in cohort.weeks:
        due = cohort.due(w.number)
        rows.append(
            [
                str(w.number),
                w.title,
                f"{cohort.week_start_date(w.number):%a %d %b}",
                format_local(cohort.post_time(w.number), zone),
                format_local(due, zone) if due else "-",
            ]
        )
    return Table(headers=["week", "title", "starts", "posted", "homework due"], rows=rows)


def sections_table(cohort: Cohort) -> Table:
    """Each section's weekly meeting, in its own zone and the cohort's, and where it meets."""
    rows = []
    for s in cohort.sections:
        start, _ = cohort.meeting(s, 1)
        where = [f"#{s.channel}" if s.channel else "", str(s.link) if s.link else "", s.location or ""]
        rows.append(
            [
                s.name,
                s.track,
                f"{s.weekday.title()} {s.start:%H:%M} {cohort.section_zone(s).key}",
                format_local(start, cohort.zone, "t"),
                f"{s.duration_minutes} min",
                " · ".join(w for w in where if w) or "-",
                ", ".join(s.facilitators) or "-",
            ]
        )
    headers = ["section", "track", "meets", "cohort time", "length", "where", "facilitators"]
    return Table(headers=headers, rows=rows)


async def exceptions_table(app: CohortBot) -> Table:
    """Every week that differs from its section's pattern: the file's exceptions and (with a database) the
    moves and cancellations made since, as ``app.meetings`` sees them (times in the section's zone)."""
    changes = await app.meetings.changes()
    rows = []
    for m in await app.meetings.all():
        changed = changes.get((m.name.casefold(), m.week))
        if m.status == "scheduled":
            continue
        zone = app.cohort.section_zone(m.section)
        what = "skipped / cancelled" if not m.held else f"at {format_local(m.start, zone)}"
        if m.usual_start is not None and m.held:
            what += f" (usually {format_local(m.usual_start, zone, 't')})"
        source = f"changed {format_local(changed.changed_at, app.cohort.zone)}" if changed else "cohort file"
        rows.append([m.name, str(m.week), what, m.reason or "-", source])
    return Table(headers=["section", "week", "meeting", "reason", "from"], rows=rows)


def sessions_table(cohort: Cohort) -> Table:
    """Workshop sessions (issue 14): when (cohort time), where, for whom, and their agenda's blocks."""
    rows = []
    for session in cohort.sessions:
        blocks = cohort.session_blocks(session)
        pairs = [format_local(start, cohort.zone, "t") for b, start, _ in blocks if b.kind == "pairs"]
        rows.append(
            [
                session.name,
                session.title,
                f"{format_local(blocks[0][1], cohort.zone)} - {format_local(blocks[-1][2], cohort.zone, 't')}",
                f"#{session.channel}",
                session.audience,
                f"{len(blocks)} blocks" + (f"; pairs at {', '.join(pairs)}" if pairs else ""),
            ]
        )
    return Table(headers=["session", "title", "when (cohort time)", "channel", "for", "agenda"], rows=rows)


async def cmd_check(args: argparse.Namespace) -> int:
    cohort = load_cohort(args.cohort_file)
    print(
        f"{args.cohort_file}: OK — {cohort.program}, {len(cohort.weeks)} weeks from {cohort.start_date}, "
        f"{len(cohort.sections)} sections, tracks {', '.join(cohort.track_names)}; times in {cohort.timezone}.\n"
    )
    print(calendar_table(cohort).as_text() + "\n")
    print(sections_table(cohort).as_text() + "\n")
    if cohort.sessions:
        print(f"Workshop sessions ({len(cohort.sessions)}):")
        print(sessions_table(cohort).as_text() + "\n")
    if args.db and not Path(args.db).is_file():
        raise CliError(f"{args.db}: no such database (check --db)")
    app = await CohortBot.open(cohort, args.db or ":memory:", clock=SystemClock())
    try:
        exceptions = await exceptions_table(app)
        jobs = await plan(app)
    finally:
        await app.close()
    scope = "file and database" if args.db else "file"
    print(f"Meetings that differ from the weekly pattern ({scope}): {len(exceptions.rows)}")
    print((exceptions.as_text() if exceptions.rows else "  (none)") + "\n")
    table = Table(
        headers=["when (cohort time)", "job", "what"],
        rows=[[format_local(j.when, cohort.zone), j.id, j.description] for j in jobs],
    )
    where = (
        f"with the moves and cancellations in {args.db}" if args.db else "from the file alone (add --db for changes)"
    )
    print(f"Scheduled jobs the bot will run ({len(jobs)}, {where}):")
    print(table.as_text() if jobs else "  (none)")
    return 0


async def cmd_roster_import(args: argparse.Namespace, settings: Settings) -> int:
    app_cohort = load_cohort(cohort_file(args, settings, "roster import"))
    db_path = args.db or settings.db
    if not Path(args.roster_file).is_file():
        raise CliError(f"{args.roster_file}: no such file")
    try:
        text, encoding = read_roster(args.roster_file)  # before the database is touched
    except RosterFileError as exc:
        raise CliError(f"{args.roster_file}: {exc}") from None
    app = await CohortBot.open(app_cohort, db_path)
    try:
        report = await import_roster(app.people, text, app_cohort, app.clock.now())
        upkeep = await app.run_upkeep()  # join codes for newcomers (linking and syncing need the running bot)
    finally:
        await app.close()
    report.encoding = encoding
    print(f"{args.roster_file} -> {db_path}: {report.summary()}")
    for line in upkeep:
        print(line)
    with contextlib.suppress(CliError, OSError):
        number = running_bot(db_path).pid
        os.kill(number, signal.SIGHUP)  # the running bot links (by email), syncs roles and reports what it did
        print(f"asked the running bot (pid {number}) to link and sync the changes")
    return 0 if not report.errors else 2


async def cmd_roster_codes(args: argparse.Namespace, settings: Settings) -> int:
    """``cohortbot roster codes``: name, email and join code of everyone not linked yet, for a mail merge."""
    cohort = cohort_file(args, settings, "roster codes")
    db_path = existing_db(args, settings, "roster codes")
    check_output(args.output)
    app = await CohortBot.open(cohort, db_path)
    try:
        exporter = app.exporters.get("join-codes")
        if exporter is None:
            raise CliError("this bot has no join codes (the roster feature is not installed)")
        table = await exporter(app)
    finally:
        await app.close()
    linked = table.headers.index("linked")
    rows = [row[:3] for row in table.rows if args.all or not row[linked]]
    write_csv(Table(headers=table.headers[:3], rows=rows), args.output)
    return 0


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    cohort = cohort_file(args, settings, "export")
    db_path = existing_db(args, settings, "export")
    check_output(args.output)
    app = await CohortBot.open(cohort, db_path)
    try:
        if args.what in app.documents:
            return await export_document(app, args)
        exporter = app.exporters.get(args.what)
        if exporter is None:
            known = ", ".join(sorted([*app.exporters, *app.documents])) or "none yet"
            raise CliError(f"nothing called {args.what!r} can be exported (available: {known})")
        if args.person:
            raise CliError(f"--person only goes with {', '.join(sorted(app.documents)) or 'file exports'}")
        table = await exporter(app)
        if isinstance(table, TableStream):  # written as it is read (before the database closes): bounded memory
            await write_stream(table, args.output)
            return 0
    finally:
        await app.close()
    write_csv(table, args.output)
    return 0


async def write_stream(source: TableStream, output: str | None) -> None:
    """A streamed table as CSV to the file ``output`` (saying how many rows), or to standard output."""
    if output:
        with writing(output), open(output, "w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 - the CLI
            count = await write_rows(source, out)
        print(f"wrote {count} rows to {output}", file=sys.stderr)
        return
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        with writing("standard output"):
            await write_rows(source, out)
    finally:
        out.detach()


def write_csv(table: Table, output: str | None) -> None:
    """``table`` as CSV (``Table.as_csv``) to the file ``output`` (saying how many rows), or to standard output."""
    data = table.as_csv()
    if output:
        with writing(output):
            Path(output).write_bytes(data)
        print(f"wrote {len(table.rows)} rows to {output}", file=sys.stderr)
    else:
        with writing("standard output"):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()


async def export_document(app: CohortBot, args: argparse.Namespace) -> int:
    """Write a file export (``app.documents``, e.g. ``calendar``) for everyone or ``--person EMAIL``."""
    person = None
    if args.person:
        person = await app.people.by_email(args.person)
        if person is None:
            raise CliError(f"nobody with the email {args.person!r} is on the roster of this database")
    document = await app.documents[args.what](app, person)
    if args.output:
        with writing(args.output):
            Path(args.output).write_bytes(document.content)
        print(f"wrote {document.filename} ({len(document.content)} bytes) to {args.output}", file=sys.stderr)
    else:
        with writing("standard output"):
            sys.stdout.buffer.write(document.content)
            sys.stdout.flush()
    return 0


async def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.platforms.slack.manifest import build_manifest

    app = await CohortBot.open(args.cohort or EXAMPLE_COHORT, ":memory:")
    try:
        from bot.platforms.slack.settings import SlackSettings

        prefix = SlackSettings().command_prefix
        manifest = build_manifest(app.registry, request_url=args.request_url, app_name=args.name, prefix=prefix)
    finally:
        await app.close()
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from bot.platforms.console import ConsolePlatform

    cohort = load_cohort(args.cohort or EXAMPLE_COHORT)
    workdir = Path(tempfile.mkdtemp(prefix="cohortbot-demo-"))
    start = datetime.combine(cohort.start_date, time(8, 0), tzinfo=cohort.zone)
    clock = ManualClock(start)
    app = await CohortBot.open(cohort, workdir / "demo.db", clock=clock)
    runtime = Runtime(app)
    try:
        report = await import_roster_file(app.people, args.roster or EXAMPLE_ROSTER, cohort, clock.now())
        if report.errors:
            print(report.summary(), file=sys.stderr)
        console = ConsolePlatform(app, user=args.user, runtime=runtime)
        await console.start()
        await runtime.start()
        await console.run()
    finally:
        await runtime.stop()
        await app.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def take_lock(db_path: str | Path, platform: str) -> InstanceLock | None:
    """This process's lock on the database (one running bot per database); :class:`CliError` if one runs."""
    if str(db_path) == ":memory:":
        return None
    lock = InstanceLock(db_path)
    try:
        return lock.acquire(platform)
    except AlreadyRunning as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # the lock file goes beside the database: the same folder, the same reasons
        raise CliError(unavailable_reason(db_path, exc)) from None


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    cohort_path = cohort_file(args, settings, "run")
    db_path = args.db or settings.db
    spec = platforms()[args.platform]
    load_cohort(cohort_path)  # a bad cohort file, then bad settings, are reported before the database is opened
    if spec.check is not None:
        spec.check(settings)
    lock = take_lock(db_path, args.platform)  # one bot per database: before it is opened (and migrated)
    try:
        return await _run(args, settings, spec, cohort_path, db_path, lock)
    except FatalPlatformError as exc:
        log.error("stopping: %s", exc)
        raise CliError(str(exc)) from None
    finally:
        if lock is not None:
            lock.release()


async def _run(
    args: argparse.Namespace,
    settings: Settings,
    spec: PlatformSpec,
    cohort_path: str,
    db_path: str,
    lock: InstanceLock | None,
) -> int:
    app = await CohortBot.open(cohort_path, db_path, settings=settings, platform=args.platform)
    runtime = Runtime(app)
    platform = None
    server: WebServer | None = None
    try:
        platform = spec.create(app, settings, runtime)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        with contextlib.suppress(NotImplementedError, AttributeError):  # SIGHUP: re-read the cohort, rebuild jobs
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(runtime.reload()))
        with contextlib.suppress(NotImplementedError, AttributeError):  # SIGUSR1: look at the outbox now
            loop.add_signal_handler(signal.SIGUSR1, runtime.worker.wake)
        await platform.start()
        if not getattr(platform, "serves_http", False) and wanted(settings):
            server = WebServer(app, settings)  # the features' HTTP routes (calendar feeds), only when asked
            await server.start()
        await runtime.start()
        if lock is not None:
            lock.ready()
        log.info("cohortbot is running on %s for %s (pid %d)", args.platform, app.cohort.program, os.getpid())
        waiter = asyncio.ensure_future(platform.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()
        if waiter.done() and not waiter.cancelled() and waiter.exception() is not None:
            raise waiter.exception()  # e.g. Discord closed the gateway for good: exit non-zero, saying why
    finally:
        await runtime.stop()
        if server is not None:
            await server.stop()
        if platform is not None:
            await platform.stop()
        await app.close()
    return 0


def running_bot(db_path: str | Path) -> Holder:
    """The live bot holding ``db_path``'s lock; :class:`CliError` if there is none (whatever the file says)."""
    try:
        holder = running(db_path)
    except OSError as exc:
        raise CliError(f"cannot read {lock_path(db_path)}: {exc.strerror or exc}") from None
    if holder is None:
        raise CliError(
            f"no running bot found on {db_path}: nothing holds {lock_path(db_path)} "
            "(is `cohortbot run` using this --db?)"
        )
    if holder.pid <= 0 or holder.state == "starting":
        raise CliError(f"the bot on {db_path} ({holder.describe()}) is still starting; try again in a moment")
    return holder


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 if a bot runs on this database (and, with ``--http``, its ``/healthz`` answers 200)."""
    import urllib.error
    import urllib.request

    holder = running_bot(args.db or settings.db)
    if args.http:
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "") else settings.http_host
        url = f"http://{host}:{settings.http_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status = response.status
        except (urllib.error.URLError, OSError) as exc:
            raise CliError(f"{url} did not answer: {exc}") from None
        if status != 200:
            raise CliError(f"{url} answered {status}")
    print(f"ok: cohortbot is running ({holder.describe()})")
    return 0


def cmd_reload(args: argparse.Namespace, settings: Settings) -> int:
    """Ask the bot running on this database to re-read its cohort file and rebuild its schedule (SIGHUP)."""
    number = running_bot(args.db or settings.db).pid
    os.kill(number, signal.SIGHUP)
    print(f"asked the bot (pid {number}) to reload its cohort file and schedule")
    return 0


async def cmd_outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Re-queue every failed outbox message; wake the running bot, if any, to send them now (SIGUSR1)."""
    db_path = args.db or settings.db
    if not Path(db_path).is_file():
        raise CliError(f"no database at {db_path} (give the bot's --db)")
    # Re-queueing reads nothing from the cohort file: the bot's own is used if known, else the example stands in.
    app = await CohortBot.open(args.cohort or settings.cohort or EXAMPLE_COHORT, db_path)
    try:
        count = await app.outbox.requeue(app.clock.now())
    finally:
        await app.close()
    try:
        holder = running(db_path)
    except OSError:
        holder = None
    if count and holder is not None and holder.pid > 0 and holder.state == "running":  # its handler is set
        with contextlib.suppress(OSError):
            os.kill(holder.pid, signal.SIGUSR1)
        print(f"re-queued {count} failed message(s); the running bot (pid {holder.pid}) sends them now")
    elif count:
        print(f"re-queued {count} failed message(s); they are sent when the bot runs")
    else:
        print("no failed messages to re-queue")
    return 0


COHORT_DEFAULT = "(default: COHORTBOT_COHORT; one of the two is required)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(prog="cohortbot", description="Run a cohort-based course on Discord or Slack.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="validate a cohort file and print its schedule")
    p.add_argument("cohort_file")
    p.add_argument("--db", help="also apply the moves and cancellations recorded in this database (the running bot's)")

    roster = sub.add_parser("roster", help="roster commands").add_subparsers(dest="roster_command", required=True)
    p = roster.add_parser("import", help="upsert people from a roster CSV")
    p.add_argument("roster_file")
    p.add_argument(
        "--cohort", metavar="FILE", help=f"cohort file to check tracks and sections against {COHORT_DEFAULT}"
    )
    p.add_argument("--db", help="SQLite path (default: COHORTBOT_DB or ./cohortbot.db)")
    p = roster.add_parser("codes", help="CSV of name, email and personal join code, for a mail merge")
    p.add_argument("--db", help="SQLite path (default: COHORTBOT_DB or ./cohortbot.db)")
    p.add_argument("--cohort", metavar="FILE", help=f"the cohort file the bot runs with {COHORT_DEFAULT}")
    p.add_argument("-o", "--output", help="write to this file (default: standard output)")
    p.add_argument("--all", action="store_true", help="also people already linked to an account")

    p = sub.add_parser("run", help="run the bot")
    p.add_argument("--platform", choices=sorted(platforms()), required=True)
    p.add_argument("--cohort", metavar="FILE", help=f"the cohort file the bot runs with {COHORT_DEFAULT}")
    p.add_argument("--db", help="SQLite path (default: COHORTBOT_DB or ./cohortbot.db)")

    p = sub.add_parser("reload", help="make the running bot re-read its cohort file and rebuild its schedule")
    p.add_argument("--db", help="the database of the running bot (default: COHORTBOT_DB or ./cohortbot.db)")

    outbox = sub.add_parser("outbox", help="the outbox of a bot's database").add_subparsers(
        dest="outbox_command", required=True
    )
    p = outbox.add_parser("retry", help="re-queue every failed message (the running bot sends them)")
    p.add_argument("--db", help="the bot's database (default: COHORTBOT_DB or ./cohortbot.db)")
    p.add_argument(
        "--cohort", metavar="FILE", help="the bot's cohort file (optional: re-queueing reads nothing from it)"
    )

    p = sub.add_parser("health", help="exit 0 if the bot is running (for container health checks)")
    p.add_argument("--db", help="the database of the running bot (default: COHORTBOT_DB or ./cohortbot.db)")
    p.add_argument("--http", action="store_true", help="also require GET /healthz to answer 200 (Slack HTTP mode)")

    p = sub.add_parser("demo", help="try the bot in this terminal on the example cohort")
    p.add_argument("--user", help="start as this roster member (default: the first scholar)")
    p.add_argument("--cohort", help=argparse.SUPPRESS)
    p.add_argument("--roster", help=argparse.SUPPRESS)

    p = sub.add_parser("export", help="write a CSV report, or a calendar (.ics)")
    p.add_argument("what", help="attendance, submissions, stipends, roster, roster-changes, join-codes, or calendar")
    p.add_argument("--db", help="the bot's database (default: COHORTBOT_DB or ./cohortbot.db)")
    p.add_argument("--cohort", metavar="FILE", help=f"the cohort file the bot runs with {COHORT_DEFAULT}")
    p.add_argument("--person", metavar="EMAIL", help="calendar: only this person's meetings and deadlines")
    p.add_argument("-o", "--output", help="write to this file (default: standard output)")

    p = sub.add_parser("slack-manifest", help="print the Slack app manifest generated from the commands")
    p.add_argument("--request-url", default="https://YOUR-HOST/slack/events")
    p.add_argument("--name", default="cohortbot")
    p.add_argument("--cohort", help=argparse.SUPPRESS)
    return parser


async def _main(args: argparse.Namespace) -> int:
    if args.command == "check":
        return await cmd_check(args)
    if args.command == "demo":
        return await cmd_demo(args)
    if args.command == "slack-manifest":
        return await cmd_manifest(args)
    settings = read_settings(Settings)
    if args.command == "roster" and args.roster_command == "codes":
        return await cmd_roster_codes(args, settings)
    if args.command == "roster":
        return await cmd_roster_import(args, settings)
    if args.command == "export":
        return await cmd_export(args, settings)
    if args.command == "run":
        return await cmd_run(args, settings)
    if args.command == "reload":
        return cmd_reload(args, settings)
    if args.command == "health":
        return cmd_health(args, settings)
    if args.command == "outbox":
        return await cmd_outbox_retry(args, settings)
    raise CliError(f"unknown command {args.command}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run, and turn failures into one line on stderr and exit status 1.

    Expected failures (a bad cohort file, a missing setting, an unusable database or port) say what to fix.
    Anything else is a bug: one line naming it; ``COHORTBOT_LOG_LEVEL=DEBUG`` shows the traceback instead.
    """
    args = build_parser().parse_args(argv)
    debug = os.environ.get("COHORTBOT_LOG_LEVEL", "").upper() == "DEBUG"
    settings_level = logging.DEBUG if debug else logging.INFO if args.command == "run" else logging.WARNING
    logging.basicConfig(level=settings_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = asyncio.run(_main(args))
        sys.stdout.flush()  # a closed pipe shows here, not as a failed flush when Python exits
        return code
    except CohortError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    except (CliError, StartupError) as exc:
        print(f"cohortbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and args.command != "run":  # a running bot's may be a socket's
            return stdout_closed()
        if debug:
            raise
        hint = "set COHORTBOT_LOG_LEVEL=DEBUG to see where"
        print(f"cohortbot: unexpected error ({one_line(exc)}); {hint}", file=sys.stderr)
        return 1


def stdout_closed() -> int:
    """Standard output's reader went away (``cohortbot export ... | head``): stop quietly, as Unix tools do.

    What is still buffered for it goes to /dev/null (else Python reports the failed flush at exit); the status
    is 141, a shell's for a process ended by SIGPIPE (128 + 13).
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + signal.SIGPIPE


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, at most 300 characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 300 else text[:299] + "…"


if __name__ == "__main__":
    sys.exit(main())
