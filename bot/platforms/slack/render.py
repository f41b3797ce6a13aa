"""The core's neutral :class:`Message` as Slack Block Kit, and its markup as Slack mrkdwn.

* ``**bold**`` -> ``*bold*``; ``[title](url)`` -> ``<url|title>``; ``&``, ``<`` and ``>`` escaped as Slack asks;
* ``<t:UNIX:STYLE>`` -> ``<!date^UNIX^TOKENS|fallback>``: Slack shows it in each reader's zone; the fallback
  (for clients that cannot) is the time in the cohort's zone;
* title -> header block, text and each field -> mrkdwn sections (split at 3000 characters), footer -> context;
* a small table -> a code block; a larger one -> a CSV file (uploaded by the caller, see :class:`Rendered`);
* at most 50 blocks; a plain ``text`` fallback always (escaped too, so nothing in it mentions anyone);
* ``message.ping`` -> ``<!channel>`` before the text and in the fallback: the only mention the bot makes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.messages import BOLD_RE, LINK_RE, Button, Control, Message, format_local, plain, split_markup
from bot.core.util import slug

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000
MAX_BLOCKS = 50
TEXT_LIMIT = 3000
ACTION_ELEMENTS = 25  # elements in one actions block
CHANNEL_MENTION = "<!channel>"
ESCAPED_TIMESTAMP_RE = re.compile(r"&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;")
DATE_TOKENS = {
    "t": "{time}",
    "T": "{time_secs}",
    "d": "{date_short_pretty}",
    "D": "{date_short_pretty}",
    "f": "{date_short_pretty} at {time}",
    "F": "{date_short_pretty} at {time}",
    "R": "{ago}",
}


@dataclass
class Upload:
    """A file to upload next to the message."""

    filename: str
    content: bytes
    title: str
    path: str | None = None  # a file on disk to send instead of ``content``


@dataclass
class Rendered:
    """A message ready for Slack: ``blocks``, the ``text`` fallback, and files the caller must upload."""

    blocks: list[dict]
    text: str
    uploads: list[Upload] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape the three characters Slack reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(unix: int, style: str, zone: ZoneInfo) -> str:
    """``<!date^UNIX^TOKENS|fallback>`` for a core ``<t:UNIX:STYLE>``."""
    fallback = format_local(datetime.fromtimestamp(unix, tz=ZoneInfo("UTC")), zone, style)
    return f"<!date^{unix}^{DATE_TOKENS.get(style, DATE_TOKENS['f'])}|{fallback}>"


def mrkdwn(text: str, zone: ZoneInfo) -> str:
    """The core's markup as Slack mrkdwn (see the module docstring)."""
    text = escape(text)
    text = ESCAPED_TIMESTAMP_RE.sub(lambda m: slack_date(int(m.group(1)), m.group(2) or "f", zone), text)
    text = LINK_RE.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '/')}>", text)
    return BOLD_RE.sub(r"*\1*", text)


def sections(text: str) -> list[dict]:
    """mrkdwn section blocks for ``text`` (already converted), split to Slack's limit."""
    pieces = split_markup(text, SECTION_LIMIT)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces if piece.strip()]


def render(message: Message, zone: ZoneInfo, people_ids: dict[str, str] | None = None) -> Rendered:
    """Block Kit blocks, a text fallback and any files for ``message``; times fall back to ``zone``.

    ``people_ids`` maps person refs (``#12``) to Slack user ids, for people selects' pre-selected entries.
    """
    blocks: list[dict] = []
    uploads: list[Upload] = []
    if message.title:
        title = plain(message.title, zone)
        if len(title) > HEADER_LIMIT:
            title = title[: HEADER_LIMIT - 1] + "…"
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}})
    if message.ping:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": CHANNEL_MENTION}})
    if message.url:
        blocks.extend(sections(f"<{escape(message.url)}|{escape(message.url)}>"))
    if message.text:
        blocks.extend(sections(mrkdwn(message.text, zone)))
    for f in message.fields:
        blocks.extend(sections(f"*{mrkdwn(f.name, zone)}*\n{mrkdwn(f.value, zone)}"))
    if message.table is not None:
        text = message.table.as_text(zone)
        if len(text) + 8 <= SECTION_LIMIT:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```\n{escape(text)}\n```"}})
        else:
            name = f"{slug(message.title, 'table', 60)}.csv"
            uploads.append(Upload(name, message.table.as_csv(zone), plain(message.title or "Table", zone)))
            rows = len(message.table.rows)
            blocks.append(context(f"The full table ({rows} rows) is attached as {name}."))
    for a in message.files:
        uploads.append(Upload(a.filename, a.content, a.description or a.filename, a.path))
    if message.footer:
        blocks.append(context(mrkdwn(message.footer, zone)))
    controls = actions_block(message.actions, zone, people_ids or {})
    if len(blocks) + bool(controls) > MAX_BLOCKS:
        cut = MAX_BLOCKS - 1 - bool(controls)
        blocks = [*blocks[:cut], context("… shortened: this message is too long for Slack.")]
    if controls:
        blocks.append(controls)
    return Rendered(blocks=blocks, text=fallback(message, zone), uploads=uploads)


def actions_block(controls: Sequence[Control], zone: ZoneInfo, people_ids: dict[str, str]) -> dict | None:
    """The core's buttons and selects as one Block Kit ``actions`` block (``None`` if there are none).

    Each element's ``action_id`` carries the control's whole action (see :func:`bot.core.messages.action_id`),
    so a click needs no state here. People selects pre-select the people (roster ids) in ``selected``.
    """
    elements: list[dict] = []
    seen: dict[str, int] = {}
    for control in controls[:ACTION_ELEMENTS]:
        action_id = control.id
        seen[action_id] = seen.get(action_id, 0) + 1
        if seen[action_id] > 1:  # action ids must be unique within a message
            action_id = f"{action_id}#{seen[action_id]}"
        if isinstance(control, Button):
            button: dict = {"type": "button", "action_id": action_id, "text": _plain(control.label, 75, zone)}
            if control.style in ("primary", "danger"):
                button["style"] = control.style
            elements.append(button)
            continue
        many = control.max_values > 1
        element: dict = {"action_id": action_id, "placeholder": _plain(control.placeholder, 150, zone)}
        if control.people:
            element["type"] = "multi_users_select" if many else "users_select"
            users = [people_ids[p] for p in control.selected if p in people_ids]
            if users:
                element["initial_users" if many else "initial_user"] = users if many else users[0]
        else:
            options = [
                {"text": _plain(c.label, 75, zone), "value": c.value[:150]}
                | ({"description": _plain(c.description, 75, zone)} if c.description else {})
                for c in control.choices
            ]
            element["type"] = "multi_static_select" if many else "static_select"
            element["options"] = options
            initial = [o for o, c in zip(options, control.choices, strict=True) if c.value in set(control.selected)]
            if initial:
                element["initial_options" if many else "initial_option"] = initial if many else initial[0]
        if many:
            element["max_selected_items"] = control.max_values
        elements.append(element)
    return {"type": "actions", "elements": elements} if elements else None


def _plain(text: str, limit: int, zone: ZoneInfo) -> dict:
    shown = plain(text, zone) or "…"
    return {"type": "plain_text", "text": shown if len(shown) <= limit else shown[: limit - 1] + "…", "emoji": True}


def chosen_values(action: dict) -> list[str]:
    """What a ``block_actions`` action chose, as the core wants it: choice values, or people as ``<@U…>``."""
    if "selected_options" in action:
        return [o["value"] for o in action["selected_options"] or []]
    if action.get("selected_option"):
        return [action["selected_option"]["value"]]
    if "selected_users" in action:
        return [f"<@{u}>" for u in action["selected_users"] or []]
    if action.get("selected_user"):
        return [f"<@{action['selected_user']}>"]
    return []


def context(text: str) -> dict:
    """A context block with one mrkdwn element."""
    if len(text) > CONTEXT_LIMIT:
        text = text[: CONTEXT_LIMIT - 1] + "…"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def fallback(message: Message, zone: ZoneInfo) -> str:
    """The plain ``text`` Slack shows in notifications and where blocks cannot be shown (escaped: Slack reads
    it as mrkdwn, where ``<!channel>`` would ping); a ping starts it with ``<!channel>``."""
    text = escape(message.as_plain_text(zone) or "(no text)")
    text = text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"
    return f"{CHANNEL_MENTION} {text}" if message.ping else text


def text_blocks(text: str) -> list[dict]:
    """Plain mrkdwn sections for a short adapter message (usage errors, apologies)."""
    return sections(escape(text))
