"""Neutral messages that every platform knows how to render.

Text uses a small markup that all three platforms can translate:

* ``**bold**`` and ``[title](https://link)``;
* times as Discord's own timestamp syntax ``<t:UNIX:STYLE>`` (see :func:`timestamp`): Discord shows it
  natively in each reader's zone, Slack turns it into ``<!date^...>``, the console prints the reader's
  local time.

A message is a pydantic model so it can be stored in the outbox as JSON and rebuilt unchanged. A text too long
for a platform's limits is cut by :func:`split_markup`, the one splitter every adapter uses, never inside markup.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, datetime
from typing import IO, Annotated, Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from bot.core.clock import utc

TimeStyle = Literal["t", "T", "d", "D", "f", "F", "R"]
TIMESTAMP_RE = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
LINK_RE = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(value: object, limit: int = 60) -> str:
    """User input quoted for an error message, cut to ``limit`` characters: ``'aaaa…' (100,000 characters)``."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 1]!r}… ({len(text):,} characters)"


def timestamp(dt: datetime, style: TimeStyle = "f") -> str:
    """Markup for a moment that each reader sees in their own time zone."""
    return f"<t:{int(utc(dt).timestamp())}:{style}>"


def relative(dt: datetime, now: datetime) -> str:
    """``in 3 days`` / ``2 hours ago`` (rounded to the largest whole unit)."""
    seconds = (utc(dt) - utc(now)).total_seconds()
    amount = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if amount >= size:
            n = int(amount // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        return "now"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def format_local(dt: datetime, zone: ZoneInfo, style: str = "f", now: datetime | None = None) -> str:
    """Plain-text rendering of a moment in ``zone`` (used by the console and as a fallback).

    Style ``R`` is relative to ``now`` when given, else shown as an absolute time.
    """
    if style == "R" and now is not None:
        return relative(dt, now)
    local = utc(dt).astimezone(zone)
    abbrev = local.strftime("%Z")
    if style == "t":
        return local.strftime("%H:%M ") + abbrev
    if style == "T":
        return local.strftime("%H:%M:%S ") + abbrev
    if style in ("d", "D"):
        return local.strftime("%a %d %b %Y")
    return local.strftime("%a %d %b %Y, %H:%M ") + abbrev


def render_timestamps(text: str, zone: ZoneInfo, now: datetime | None = None) -> str:
    """Replace every ``<t:...>`` in ``text`` by the local time in ``zone`` (relative ones against ``now``)."""

    def sub(match: re.Match[str]) -> str:
        moment = datetime.fromtimestamp(int(match.group(1)), tz=ZoneInfo("UTC"))
        return format_local(moment, zone, match.group(2) or "f", now)

    return TIMESTAMP_RE.sub(sub, text)


def plain(text: str, zone: ZoneInfo, now: datetime | None = None) -> str:
    """Strip the markup for a plain-text reader: bold removed, links as ``title (url)``, local times."""
    text = LINK_RE.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = BOLD_RE.sub(r"\1", text)
    return render_timestamps(text, zone, now)


class MessageField(BaseModel):
    """A titled block of text (an embed field on Discord, a section on Slack)."""

    name: str
    value: str
    inline: bool = False


class Table(BaseModel):
    """Rows under headers; long tables may be sent as a CSV file by the adapter."""

    headers: list[str]
    rows: list[list[str]] = Field(default_factory=list)

    def as_text(self, zone: ZoneInfo | None = None, now: datetime | None = None) -> str:
        """Aligned plain-text columns (timestamps rendered in ``zone`` when given)."""
        cells = [self.headers, *self.rows]
        if zone is not None:
            cells = [[plain(c, zone, now) for c in row] for row in cells]
        widths = [max(len(row[i]) if i < len(row) else 0 for row in cells) for i in range(len(self.headers))]
        lines = []
        for n, row in enumerate(cells):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def as_csv(self, zone: ZoneInfo | None = None, now: datetime | None = None) -> bytes:
        """The table as UTF-8 CSV, header row first: the one CSV writer of the bot.

        Without ``zone`` the cells are written as they are (exports: times in UTC); with it, markup is removed
        and times are shown in ``zone`` (a large table attached to a message).
        """
        cells = [self.headers, *self.rows]
        if zone is not None:
            cells = [[plain(c, zone, now) for c in row] for row in cells]
        buffer = io.StringIO()
        csv_writer(buffer).writerows(cells)
        return buffer.getvalue().encode("utf-8")


def csv_writer(out: IO[str]) -> Any:
    """The one CSV writer of the bot (``Table.as_csv``; the streamed exports of ``bot/core/exports.py``)."""
    return csv.writer(out)


class Attachment(BaseModel):
    """A file sent with a message (CSV exports, for example): its bytes, or a temporary file on disk.

    A large reply (an organizer's table as CSV) is written to a temporary file row by row and sent from it
    (:meth:`from_temporary`), so its size never sits in memory; that file is deleted once the attachment is gone.
    Such attachments are for replies only: the outbox stores ``content``.
    """

    filename: str
    content: bytes = b""
    description: str = ""
    path: str | None = None
    _keep: Any = PrivateAttr(default=None)

    @classmethod
    def from_temporary(cls, filename: str, file: Any, description: str = "") -> Attachment:
        """An attachment sent from ``file`` (a ``tempfile.NamedTemporaryFile``, kept open until this is gone)."""
        file.flush()
        attachment = cls(filename=filename, path=file.name, description=description)
        attachment._keep = file
        return attachment

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return os.path.getsize(self.path) if self.path else len(self.content)

    def data(self) -> bytes:
        """The file's bytes (read from disk for a file-backed attachment: for small files and tests)."""
        if self.path:
            with open(self.path, "rb") as fp:
                return fp.read()
        return self.content


ACTION_PREFIX = "cb1"
ACTION_ID_MAX = 100  # Discord's limit for a component's custom_id (Slack allows 255)
ButtonStyle = Literal["primary", "secondary", "success", "danger"]


class Action(BaseModel):
    """What a click runs: the command ``command`` with the fixed ``options``, as the person who clicked.

    It travels inside the button or select itself (its custom id), so it keeps working after a restart and
    needs no state: keep the options short (ids, not texts). After ``expires`` a click is refused with a clear
    answer. Whether the click still applies otherwise (already done, changed since) is the command's to check.
    """

    command: str
    options: dict[str, str] = Field(default_factory=dict)
    expires: datetime | None = None


class Button(BaseModel):
    """A button that runs ``action`` when clicked."""

    kind: Literal["button"] = "button"
    label: str
    action: Action
    style: ButtonStyle = "secondary"

    @model_validator(mode="after")
    def _fits(self) -> Button:
        action_id(self)
        return self

    @property
    def id(self) -> str:
        """The custom id / action id a platform carries for this control."""
        return action_id(self)


class SelectChoice(BaseModel):
    """One entry of a select: ``label`` is shown, ``value`` is sent."""

    label: str
    value: str
    description: str | None = None


class Select(BaseModel):
    """A menu: choosing runs ``action`` with the chosen values put in the option ``into``.

    Of given ``choices`` (at most 25; for people, use :func:`bot.core.options.person_ref` values), or with
    ``people=True`` of anyone, picked with the platform's own user picker (the values reach the command as
    mentions, ``<@user id>``). ``selected`` pre-fills it with choice values (people selects: person refs, ``#12``).
    Choosing runs the command at once, every time the choice changes.
    """

    kind: Literal["select"] = "select"
    action: Action
    into: str
    placeholder: str = "Choose…"
    choices: list[SelectChoice] = Field(default_factory=list, max_length=25)
    people: bool = False
    min_values: int = Field(default=1, ge=0, le=25)
    max_values: int = Field(default=1, ge=1, le=25)
    selected: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits(self) -> Select:
        action_id(self)
        if not self.people and not self.choices:
            raise ValueError("a select needs choices, or people=True")
        return self

    @property
    def id(self) -> str:
        """The custom id / action id a platform carries for this control."""
        return action_id(self)


Control = Annotated[Button | Select, Field(discriminator="kind")]


def action_id(control: Button | Select) -> str:
    """The compact id that carries a control's action: ``cb1|command|options|into|expires``.

    Raises ``ValueError`` if it would be longer than a platform allows (keep fixed options short).
    """
    action = control.action
    into = control.into if isinstance(control, Select) else ""
    expires = str(int(action.expires.timestamp())) if action.expires else ""
    text = "|".join([ACTION_PREFIX, quote(action.command, safe=" "), urlencode(action.options), quote(into), expires])
    if len(text) > ACTION_ID_MAX:
        raise ValueError(f"the action for /{action.command} is too long for a button ({len(text)} characters)")
    return text


class Clicked(BaseModel):
    """A decoded action id: what to run, and (for a select) which option gets the chosen values."""

    command: str
    options: dict[str, str]
    into: str | None = None
    expires: datetime | None = None


def read_action_id(text: str) -> Clicked | None:
    """The inverse of :func:`action_id` (``None`` if ``text`` is not one of ours); a ``#n`` suffix is ignored."""
    text = re.sub(r"#\d+$", "", text)
    parts = text.split("|")
    if len(parts) != 5 or parts[0] != ACTION_PREFIX or not parts[1]:
        return None
    try:
        expires = datetime.fromtimestamp(int(parts[4]), tz=UTC) if parts[4] else None
        options = dict(parse_qsl(parts[2], keep_blank_values=True, strict_parsing=bool(parts[2])))
    except (ValueError, OverflowError, OSError):
        return None
    return Clicked(command=unquote(parts[1]), options=options, into=unquote(parts[3]) or None, expires=expires)


class Message(BaseModel):
    """What the bot says: a title, text, fields, an optional table, files, and buttons or selects.

    ``mentions`` are roster ids of people to notify (e.g. a section's members in a post to its channel): each
    platform mentions them its own way (Discord and Slack ping them; the console prints their names).
    ``ping``: notify everyone in the channel the message is posted to (each platform's own "everyone here"
    mention). Off by default: the bot mentions no group unless a feature sets it, and adapters make sure nothing
    in the text pings on its own. It means nothing in a DM (a DM notifies its reader anyway).
    """

    title: str | None = None
    text: str = ""
    url: str | None = None
    fields: list[MessageField] = Field(default_factory=list)
    table: Table | None = None
    files: list[Attachment] = Field(default_factory=list)
    footer: str | None = None
    actions: list[Control] = Field(default_factory=list)
    mentions: list[int] = Field(default_factory=list)
    ping: bool = False

    def as_plain_text(self, zone: ZoneInfo, now: datetime | None = None) -> str:
        """A plain-text rendering for consoles, logs and notification fallbacks (``R`` times against ``now``)."""
        parts: list[str] = []
        if self.title:
            title = plain(self.title, zone, now)
            parts.append(f"{title}\n{'=' * len(title)}")
        if self.text:
            parts.append(plain(self.text, zone, now))
        for f in self.fields:
            parts.append(f"{plain(f.name, zone, now)}\n{plain(f.value, zone, now)}")
        if self.table is not None:
            parts.append(self.table.as_text(zone, now))
        for a in self.files:
            parts.append(f"[file: {a.filename}, {a.size} bytes]")
        if self.footer:
            parts.append(plain(self.footer, zone, now))
        return "\n\n".join(parts)


class FormField(BaseModel):
    """One input of a form (a text input in a Discord modal or a Slack view)."""

    name: str
    label: str
    long: bool = False
    required: bool = True
    max_length: int = 4000
    placeholder: str | None = None
    default: str | None = None


class Form(BaseModel):
    """Ask the user for more input; on submit the core runs ``command`` again with ``fixed`` + the fields."""

    title: str
    command: str
    fields: list[FormField]
    intro: str | None = None
    fixed: dict[str, str] = Field(default_factory=dict)


class Reply(BaseModel):
    """A command's answer: a message, shown privately or in the channel, or a form to fill in.

    ``zone`` is the reader's time zone (an IANA name; the dispatcher sets it), for times an adapter writes out.
    ``replace``: when answering a click, the answer replaces the clicked message (its buttons go with it)
    instead of coming as a new private message.
    """

    message: Message | None = None
    private: bool = True
    form: Form | None = None
    error: str | None = None
    error_field: str | None = None
    zone: str | None = None
    replace: bool = False

    def zone_or(self, fallback: ZoneInfo) -> ZoneInfo:
        """The reader's zone, else ``fallback`` (the cohort's)."""
        return ZoneInfo(self.zone) if self.zone else fallback

    @classmethod
    def text(cls, text: str, *, private: bool = True, title: str | None = None) -> Reply:
        """A reply that is just text."""
        return cls(message=Message(text=text, title=title), private=private)

    @classmethod
    def of(cls, message: Message, *, private: bool = True) -> Reply:
        """A reply carrying ``message``."""
        return cls(message=message, private=private)

    @classmethod
    def ask(cls, form: Form) -> Reply:
        """A reply that opens ``form``."""
        return cls(form=form, private=True)


def split_markup(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, for a platform's limit on one message or block.

    Whole lines are packed into each piece; a line too long for one is cut at a space outside any markup (a
    ``<...>`` token such as a link, mention or timestamp, a ``[title](url)`` link, ``*bold*`` or ``**bold**``, and
    `` `code` ``), else at any space, else at ``limit`` (but not inside a ``<...>`` token if it can be helped), so
    no link or bold text is torn in two. Works on the core's markup and on what the adapters render it into.
    """
    if limit < 1:
        raise ValueError("a piece holds at least one character")
    out: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while len(line) > limit:
            if current is not None:
                out.append(current)
                current = None
            cut = _cut(line, limit)
            out.append(line[:cut].rstrip(" ") or line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = line if current is None else f"{current}\n{line}"
        if len(candidate) > limit:
            out.append(current or "")
            current = line
        else:
            current = candidate
    if current is not None and (current.strip() or not out):
        out.append(current)
    return out


def _cut(line: str, limit: int) -> int:
    """Where to cut an over-long ``line`` (a position in 1..``limit``; see :func:`split_markup`)."""
    clean = any_space = 0
    angle = square = 0  # depth of <...> and [...]
    url = code = strong = False  # inside a link's (url), `code`, a run of * ... *
    token_start = 0  # where the <...> we are in began
    i = 0
    while i <= limit and i < len(line):
        char = line[i]
        if char == " " and i:
            any_space = i
            if not (angle or square or url or code or strong):
                clean = i
        if code:
            code = char != "`"
        elif char == "`":
            code = True
        elif char == "<":
            angle += 1
            token_start = token_start if angle > 1 else i
        elif char == ">" and angle:
            angle -= 1
        elif char == "[":
            square += 1
        elif char == "]" and square:
            square -= 1
            url = line.startswith("(", i + 1)
        elif char == ")" and url:
            url = False
        elif char == "*":
            while i + 1 < len(line) and line[i + 1] == "*":
                i += 1
            strong = not strong
        i += 1
    if clean or any_space:
        return clean or any_space
    return token_start if angle and token_start > 0 else limit
