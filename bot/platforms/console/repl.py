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
from bot.core.messages import Button, Message, Reply, Select, excerpt, format_local, plain
from bot.core.people import Person
from bot.core.platform import REMOVED, ChannelTarget, DMTarget, PermanentSendError, PlatformTask, Target
from bot.core.roles import Role
from bot.core.textargs import TextParseError, resolve
from bot.platforms.console.spec import CAPS
from schedules.runtime import Runtime

DELTA_RE = re.compile(r"^\+(\d+(?:\.\d+)?)\s*([wdhm])$")
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


class Controls:
    """The buttons and selects printed so far, numbered for ``/press N``."""

    def __init__(self) -> None:
        self.shown: dict[int, Button | Select] = {}
        self._next = 1

    def render(self, message: Message, zone: ZoneInfo) -> str:
        """Lines showing ``message``'s controls with their numbers (empty if it has none)."""
        lines = []
        for control in message.actions:
            number = self._next
            self._next += 1
            self.shown[number] = control
            if isinstance(control, Button):
                lines.append(f"[{number}] {control.label}")
                continue
            many = "several" if control.max_values > 1 else "one"
            if control.choices:
                picked = set(control.selected)
                entries = "  ".join(
                    f"{n}) {plain(c.label, zone)}{' ✓' if c.value in picked else ''}"
                    for n, c in enumerate(control.choices, start=1)
                )
                lines.append(f"[{number}] {control.placeholder} (choose {many}): {entries}")
            else:
                lines.append(f"[{number}] {control.placeholder} (type {many} name(s), separated by commas)")
        if lines:
            lines.append("(press a button with /press N; choose with /press N 1,3 or /press N Ada, Alan)")
        return "\n".join(lines)


class ConsoleSender:
    """Prints what the bot sends on its own."""

    platform = "console"

    def __init__(self, app: CohortBot, out: TextIO, controls: Controls | None = None) -> None:
        self.app = app
        self.out = out
        self.controls = controls or Controls()
        self.sent = 0

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        """Print ``message`` as posted to a channel or DMed to a person."""
        zone = self.app.cohort.zone
        if isinstance(target, ChannelTarget):
            header = f"[posted in #{target.channel}]" + (" @channel (pings everyone there)" if message.ping else "")
        else:
            assert isinstance(target, DMTarget)
            person = await self.app.people.get(target.person_id)
            if person is None:
                raise PermanentSendError(f"nobody with id {target.person_id} is on the roster", REMOVED)
            zone = person.zone(zone)
            header = f"[DM to {person.name}]"
        self.sent += 1
        body = message.as_plain_text(zone, self.app.clock.now())
        if message.mentions:
            found = await self.app.people.get_many(message.mentions)
            names = ", ".join(f"@{found[i].name}" for i in dict.fromkeys(message.mentions) if i in found)
            body = f"{names}\n{body}"
        buttons = self.controls.render(message, zone)
        body = f"{body}\n{buttons}" if buttons else body
        self.out.write(f"\n{header}\n{_indent(body)}\n")
        self.out.flush()
        return f"console-{self.sent}"

    async def run_task(self, task: PlatformTask, *, key: str) -> str | None:
        """Print what a platform would do (sync roles, create an event): the console only shows it."""
        details = ", ".join(f"{k}={v}" for k, v in sorted(task.data.items()))
        self.out.write(f"\n[{task.kind}] {details}\n")
        self.out.flush()
        self.sent += 1
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
        self.controls = Controls()
        self.sender = ConsoleSender(app, self.out, self.controls)
        self.person: Person | None = None
        self._done = asyncio.Event()
        self._running = False
        self.interactive = bool(getattr(self.stdin, "isatty", lambda: False)())
        use_input = self.interactive and self.stdin is sys.stdin
        if use_input:
            import readline  # noqa: F401 - line editing and history for input()
        self.reader = LineReader(self.stdin, use_input=use_input)

    async def start(self) -> None:
        """Register the sender and pick the starting person (``user``, else the first scholar)."""
        self.app.senders["console"] = self.sender
        if self.user is None:
            scholars = await self.app.people.with_role(Role.SCHOLAR)
            self.person = scholars[0] if scholars else None
            self.user = self.person.name if self.person else None
        else:
            matches = await self.app.people.by_name(self.user, limit=2, include_removed=True)
            self.person = matches[0] if len(matches) == 1 else None
            self.user = self.person.name if self.person else self.user

    async def stop(self) -> None:
        """End the loop."""
        self._done.set()

    async def wait(self) -> None:
        """Answer lines until input ends (or ``/quit``), unless :meth:`run` already does; return when it ends."""
        if not self._running:
            await self.run()
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
        self._running = True
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
        person = self.person
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
        if word == "press":
            await self.press(rest.strip())
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
        """The person typing: the console acts as the chosen roster person directly."""
        person = self.person
        if person is None:
            return Actor("console", self.user or "", display_name=self.user or "", caps=CAPS)
        return Actor("console", str(person.id), display_name=person.name, person_id=person.id, caps=CAPS)

    async def press(self, arg: str) -> None:
        """``/press N`` a button, or ``/press N 1,3`` / ``/press N Ada, Alan`` to choose in a select."""
        number, _, rest = arg.partition(" ")
        control = self.controls.shown.get(int(number)) if number.isdigit() else None
        if control is None:
            known = ", ".join(str(n) for n in sorted(self.controls.shown)) or "none yet"
            self.write(f"⚠️ There is no button or menu [{number}] (shown so far: {known}).")
            return
        values: list[str] = []
        if isinstance(control, Select):
            picked = [p.strip() for p in rest.replace(";", ",").split(",") if p.strip()]
            for p in picked:
                if control.choices and p.isdigit() and 1 <= int(p) <= len(control.choices):
                    values.append(control.choices[int(p) - 1].value)
                else:
                    values.append(p)
        reply = await self.app.dispatcher.click(self.actor(), control.id, values, Place(channel_name="console"))
        await self.show(reply)

    async def show(self, reply: Reply) -> None:
        """Print a reply; a form asks for each field on the next input lines."""
        if reply.form is not None:
            form = reply.form
            self.write(f"[form] {form.title}")
            if form.intro:
                self.write(_indent(plain(form.intro, reply.zone_or(self.app.cohort.zone), self.app.clock.now())))
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
            zone = reply.zone_or(self.app.cohort.zone)
            prefix = "(replaces the message above)\n" if reply.replace else ""
            prefix += "(only you can see this)\n" if reply.private else ""
            text = prefix + reply.message.as_plain_text(zone, self.app.clock.now())
            buttons = self.controls.render(reply.message, zone)
            self.write(_indent(f"{text}\n{buttons}" if buttons else text))
        if self.runtime is not None:
            await self.runtime.run_until_idle()  # what the command queued (a DM, say) is delivered at once

    async def switch_user(self, name: str) -> None:
        """``/as NAME``: exact name, or a unique first-name/prefix match."""
        # the removed too: acting as them shows what they are told (the dispatcher refuses them)
        matches = await self.app.people.by_name(name, include_removed=True)
        if len(matches) != 1:
            shown = matches or await self.app.people.all(limit=30)
            names = ", ".join(f"{p.name} ({p.role.label})" for p in shown)
            self.write(f"⚠️ Who? {'Several match' if matches else 'Nobody matches'} {excerpt(name)}. People: {names}")
            return
        self.person = matches[0]
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
