"""The console platform: type commands as a chosen roster member, move a virtual clock, see what is posted.

Lines look like Slack commands (``/readings week:2``). Console-only lines: ``/as NAME`` (switch person),
``/clock +1d`` / ``/clock 2026-01-19 09:00`` (move the virtual clock, then run what fell due), ``/quit``.
It reads standard input, so it works in a pipe as well as in a terminal.
"""

from __future__ import annotations

import asyncio
import queue
import re
import sys
import threading
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import CohortBot
from bot.core.clock import LAST_YEAR, ManualClock
from bot.core.context import Actor, Place
from bot.core.messages import Message, Reply, format_local, plain
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, Target
from bot.core.textargs import TextParseError, resolve
from schedules.runtime import Runtime

DELTA_RE = re.compile(r"^\+(\d+(?:\.\d+)?)\s*([wdhm])$")
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


class ConsoleSender:
    """Prints what the bot sends on its own."""

    platform = "console"

    def __init__(self, app: CohortBot, out: TextIO) -> None:
        self.app = app
        self.out = out
        self.sent = 0

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Print ``message`` as posted to a channel or DMed to a person."""
        zone = self.app.cohort.zone
        if isinstance(target, ChannelTarget):
            header = f"[posted in #{target.channel}]"
        else:
            assert isinstance(target, DMTarget)
            person = await self.app.people.get(target.person_id)
            if person is None:
                raise PermanentSendError(f"nobody with id {target.person_id} is on the roster")
            zone = person.zone(zone)
            header = f"[DM to {person.name}]"
        self.sent += 1
        body = message.as_plain_text(zone, self.app.clock.now())
        self.out.write(f"\n{header}\n{_indent(body)}\n")
        self.out.flush()
        return f"console-{self.sent}"


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else "" for line in text.splitlines())


class LineReader:
    """Reads lines on a daemon thread, one per request, so a blocked read never keeps the process alive.

    (``asyncio.to_thread`` would: the default executor's threads are joined when the loop shuts down, so a
    console bot waiting for input could not be stopped by SIGTERM.)
    """

    def __init__(self, stream: TextIO, *, use_input: bool) -> None:
        self.stream = stream
        self.use_input = use_input
        self._requests: queue.SimpleQueue[tuple[str, asyncio.AbstractEventLoop, asyncio.Future[str | None]]]
        self._requests = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def read(self, prompt: str = "") -> str | None:
        """The next line without its newline, or ``None`` at end of input."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="console-input", daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._requests.put((prompt, loop, future))
        return await future

    def _serve(self) -> None:
        while True:
            prompt, loop, future = self._requests.get()
            try:
                if self.use_input:
                    line: str | None = input(prompt)
                else:
                    raw = self.stream.readline()
                    line = None if raw == "" else raw.rstrip("\n")
            except EOFError:
                line = None
            loop.call_soon_threadsafe(_resolve, future, line)


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


class ConsolePlatform:
    """A read-eval-print loop over standard input."""

    name = "console"

    def __init__(
        self,
        app: CohortBot,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        user: str | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.app = app
        self.stdin = stdin or sys.stdin
        self.out = stdout or sys.stdout
        self.user = user
        self.runtime = runtime
        self.sender = ConsoleSender(app, self.out)
        self._done = asyncio.Event()
        self.interactive = bool(getattr(self.stdin, "isatty", lambda: False)())
        use_input = self.interactive and self.stdin is sys.stdin
        if use_input:
            import readline  # noqa: F401 - line editing and history for input()
        self.reader = LineReader(self.stdin, use_input=use_input)

    async def start(self) -> None:
        """Register the sender and pick the starting person."""
        self.app.senders["console"] = self.sender
        if self.user is None:
            scholars = [p for p in await self.app.people.all() if p.role.label == "scholar"]
            self.user = scholars[0].name if scholars else None

    async def stop(self) -> None:
        """End the loop."""
        self._done.set()

    async def wait(self) -> None:
        """Return when the loop has ended."""
        await self._done.wait()

    def write(self, text: str = "") -> None:
        """Print a line."""
        self.out.write(text + "\n")
        self.out.flush()

    async def readline(self) -> str | None:
        """The next line of input, or ``None`` at end of input (without blocking the event loop)."""
        prompt = f"{self.user or '?'}> " if self.interactive else ""
        if prompt and not self.reader.use_input:
            self.out.write(prompt)
            self.out.flush()
        return await self.reader.read(prompt if self.reader.use_input else "")

    async def run(self) -> None:
        """Greet, then answer lines until end of input or ``/quit``."""
        await self.banner()
        try:
            while not self._done.is_set():
                line = await self.readline()
                if line is None:
                    break
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if not self.interactive:
                    self.write(f"\n{self.user}> {line}")
                if line in ("/quit", "/exit"):
                    break
                await self.handle(line)
        finally:
            self._done.set()

    async def banner(self) -> None:
        """Who you are, the virtual time, and the console-only commands."""
        cohort = self.app.cohort
        self.write(f"cohortbot demo: {cohort.program}")
        self.write(f"You are {await self.describe_user()}. It is {self.clock_text()}.")
        self.write("Type /help for commands; /as NAME to switch person; /clock +1d or /clock 2026-01-19 09:00 to move")
        self.write("the clock (scheduled posts appear as it passes them); /quit to leave.")

    async def describe_user(self) -> str:
        person = await self.app.people.by_platform("console", self.user or "")
        return f"{person.name} ({person.role.label})" if person else f"{self.user} (not on the roster)"

    def clock_text(self) -> str:
        return format_local(self.app.clock.now(), self.app.cohort.zone)

    async def handle(self, line: str) -> None:
        """Run one line."""
        if not line.startswith("/"):
            self.write("Commands start with a slash, like /help or /readings week:2.")
            return
        word, _, rest = line[1:].partition(" ")
        if word == "as":
            await self.switch_user(rest.strip())
            return
        if word == "clock":
            await self.move_clock(rest.strip())
            return
        slash, _, text = line.partition(" ")
        try:
            name, options = resolve(self.app.registry, slash, text)
        except TextParseError as exc:
            usage = f"\nUsage: `{exc.usage}`" if exc.usage else ""
            self.write(f"⚠️ {exc.message}{usage}")
            return
        reply = await self.app.dispatch(self.actor(), name, options, Place(channel_name="console"))
        await self.show(reply)

    def actor(self) -> Actor:
        return Actor("console", self.user or "", display_name=self.user or "")

    async def show(self, reply: Reply) -> None:
        """Print a reply; a form asks for each field on the next input lines."""
        if reply.form is not None:
            form = reply.form
            self.write(f"[form] {form.title}")
            if form.intro:
                self.write(_indent(plain(form.intro, await self.zone(), self.app.clock.now())))
            values = dict(form.fixed)
            for f in form.fields:
                label = f"  {f.label}: "
                if not self.reader.use_input:
                    self.out.write(label if self.interactive else label.rstrip() + "\n")
                    self.out.flush()
                answer = await self.reader.read(label if self.reader.use_input else "")
                if answer is None:
                    self.write("(form cancelled at end of input)")
                    return
                if answer.strip():
                    values[f.name] = answer
            reply = await self.app.dispatch(self.actor(), form.command, values, Place(channel_name="console"))
        if reply.message is not None:
            prefix = "(only you can see this)\n" if reply.private else ""
            self.write(_indent(prefix + reply.message.as_plain_text(await self.zone(), self.app.clock.now())))
        if self.runtime is not None:
            await self.runtime.run_until_idle()  # what the command queued (a DM, say) is delivered at once

    async def zone(self) -> ZoneInfo:
        """The current person's zone, else the cohort's."""
        person = await self.app.people.by_platform("console", self.user or "")
        return person.zone(self.app.cohort.zone) if person else self.app.cohort.zone

    async def switch_user(self, name: str) -> None:
        """``/as NAME``: exact name, or a unique first-name/prefix match."""
        people = await self.app.people.all()
        folded = name.casefold()
        matches = [p for p in people if p.name.casefold() == folded] or [
            p for p in people if p.name.casefold().startswith(folded) or folded in p.name.casefold().split()
        ]
        if not name or len(matches) != 1:
            names = ", ".join(f"{p.name} ({p.role.label})" for p in (matches or people))
            self.write(f"⚠️ Who? {'Several match' if matches else 'Nobody matches'} {name!r}. People: {names}")
            return
        self.user = matches[0].name
        self.write(f"You are now {await self.describe_user()}.")

    async def move_clock(self, arg: str) -> None:
        """``/clock +1d`` (w/d/h/m) or ``/clock YYYY-MM-DD HH:MM`` (cohort time); then run what fell due."""
        clock = self.app.clock
        if not isinstance(clock, ManualClock):
            self.write("⚠️ The clock can only be moved in the demo.")
            return
        if not arg:
            self.write(f"It is {self.clock_text()}.")
            return
        match = DELTA_RE.match(arg)
        try:
            if match:
                target = clock.now() + timedelta(**{UNITS[match.group(2)]: float(match.group(1))})
            else:
                target = datetime.fromisoformat(arg)
                if target.tzinfo is None:
                    target = target.replace(tzinfo=self.app.cohort.zone)
        except ValueError:
            self.write("⚠️ Use /clock +1d, +3h, +30m, +1w, or /clock 2026-01-19 09:00 (cohort time).")
            return
        except OverflowError:  # beyond what a datetime can hold
            target = None
        if target is None or target.year > LAST_YEAR:
            self.write(f"⚠️ The clock cannot go that far: the demo's calendar ends with the year {LAST_YEAR}.")
            return
        if target < clock.now():
            self.write("⚠️ The clock only moves forward in the demo.")
            return
        clock.set(target)
        self.write(f"It is now {self.clock_text()}.")
        if self.runtime is not None:
            await self.runtime.run_until_idle()
