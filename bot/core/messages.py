"""Neutral messages that every platform knows how to render.

Text uses a small markup that all three platforms can translate:

* ``**bold**`` and ``[title](https://link)``;
* times as Discord's own timestamp syntax ``<t:UNIX:STYLE>`` (see :func:`timestamp`): Discord shows it
  natively in each reader's zone, Slack turns it into ``<!date^...>``, the console prints the reader's
  local time.

A message is a pydantic model so it can be stored in the outbox as JSON and rebuilt unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

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
        csv.writer(buffer).writerows(cells)
        return buffer.getvalue().encode("utf-8")


class Attachment(BaseModel):
    """A file sent with a message (CSV exports, for example)."""

    filename: str
    content: bytes
    description: str = ""


class Message(BaseModel):
    """What the bot says: a title, text, fields, an optional table and files."""

    title: str | None = None
    text: str = ""
    url: str | None = None
    fields: list[MessageField] = Field(default_factory=list)
    table: Table | None = None
    files: list[Attachment] = Field(default_factory=list)
    footer: str | None = None

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
            parts.append(f"[file: {a.filename}, {len(a.content)} bytes]")
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
    """A command's answer: a message, shown privately or in the channel, or a form to fill in."""

    message: Message | None = None
    private: bool = True
    form: Form | None = None
    error: str | None = None
    error_field: str | None = None

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
