"""Neutral messages and forms as Discord embeds, files and modals, within Discord's size limits.

The core's markup (``**bold**``, ``[title](url)``, ``<t:UNIX:STYLE>``) is native Discord and passes through.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import discord

from bot.core.messages import Form, Message, clip, split_markup
from bot.core.util import slug

log = logging.getLogger(__name__)

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
TABLE_INLINE_MAX = 1500  # a larger table goes out as a CSV file
MODAL_TITLE_MAX = 45
LABEL_MAX = 45


EVERYONE = "@everyone"


@dataclass
class Outgoing:
    """One Discord message: up to 10 embeds and the files, and who it may notify.

    ``content`` is set only for a ping (``@everyone``, on the first message); ``allowed_mentions`` always says
    exactly who may be notified (nobody, unless the core message asks for a ping), so text never pings by itself.
    """

    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[discord.File] = field(default_factory=list)
    content: str | None = None
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)


def allowed_mentions(message: Message) -> discord.AllowedMentions:
    """Everyone in the channel for a ping, else nobody (not even users or roles named in the text)."""
    if message.ping:
        return discord.AllowedMentions(everyone=True, users=False, roles=False, replied_user=False)
    return discord.AllowedMentions.none()


def render(message: Message, zone: ZoneInfo) -> list[Outgoing]:
    """``message`` as one or more Discord messages (more only when it exceeds one message's limits).

    Files (the message's own and a large table's CSV) go with the first message.
    """
    text = message.text
    files = [
        discord.File(a.path or io.BytesIO(a.content), filename=a.filename, description=a.description or None)
        for a in message.files
    ]
    if message.table is not None:
        block = message.table.as_text(zone)
        if len(block) <= TABLE_INLINE_MAX:  # times inside are written out in the cohort's zone
            text = f"{text}\n```\n{block}\n```" if text else f"```\n{block}\n```"
        else:
            data = message.table.as_csv(zone)
            files.append(discord.File(io.BytesIO(data), filename=f"{slug(message.title, 'table', 60)}.csv"))
            note = f"The table ({len(message.table.rows)} rows) is attached as a CSV file."
            text = f"{text}\n\n{note}" if text else note

    embeds: list[discord.Embed] = []
    title = clip(message.title, TITLE_MAX) if message.title else None
    for n, piece in enumerate(split_markup(text, DESCRIPTION_MAX) if text else [""]):
        embeds.append(
            discord.Embed(
                title=title if n == 0 else None, description=piece or None, url=message.url if n == 0 else None
            )
        )
    footer = clip(message.footer, FOOTER_MAX) if message.footer else None
    reserve = len(footer or "")
    for f in message.fields:
        name = clip(f.name, FIELD_NAME_MAX) or "\u200b"
        for n, value in enumerate(split_markup(f.value, FIELD_VALUE_MAX)):
            shown = name if n == 0 else clip(f"{f.name} (continued)", FIELD_NAME_MAX)
            current = embeds[-1]
            size = len(shown) + len(value or "\u200b")
            if len(current.fields) >= FIELDS_MAX or len(current) + size + reserve > EMBED_TOTAL_MAX:
                current = discord.Embed()
                embeds.append(current)
            current.add_field(name=shown, value=value or "\u200b", inline=f.inline)
    if footer:
        embeds[-1].set_footer(text=footer)
    if len(embeds) == 1 and not len(embeds[0]):  # nothing to show: Discord refuses an empty embed
        if files:
            embeds = []
        else:
            embeds[0].description = "(no content)"
    out = _pack(embeds, files)
    for part in out:
        part.allowed_mentions = allowed_mentions(message)
    if message.ping:
        out[0].content = EVERYONE
    return out


def _pack(embeds: list[discord.Embed], files: list[discord.File]) -> list[Outgoing]:
    """Embeds into messages: at most 10 per message and 6000 characters across them."""
    out = [Outgoing(files=files)]
    total = 0
    for embed in embeds:
        size = len(embed)
        if out[-1].embeds and (len(out[-1].embeds) >= EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_MAX):
            out.append(Outgoing())
            total = 0
        out[-1].embeds.append(embed)
        total += size
    return out


Submit = Callable[[discord.Interaction, dict[str, str]], Awaitable[None]]


class FormModal(discord.ui.Modal):
    """A core :class:`Form` as a Discord modal; ``submit`` receives the field values by name."""

    def __init__(self, form: Form, submit: Submit) -> None:
        super().__init__(title=clip(form.title, MODAL_TITLE_MAX) or "More input", timeout=900)
        self.form = form
        self._submit = submit
        self.inputs: dict[str, discord.ui.TextInput] = {}
        if form.intro:
            self.add_item(discord.ui.TextDisplay(clip(form.intro, 4000)))
        room = 5 - len(self.children)  # Discord allows five components in a modal
        if len(form.fields) > room:
            log.warning("form %r has %d fields; Discord shows the first %d", form.title, len(form.fields), room)
        for f in form.fields[:room]:
            text_input: discord.ui.TextInput = discord.ui.TextInput(
                custom_id=f.name,
                style=discord.TextStyle.paragraph if f.long else discord.TextStyle.short,
                placeholder=clip(f.placeholder, 100) if f.placeholder else None,
                default=clip(f.default, 4000) if f.default else None,
                required=f.required,
                max_length=min(f.max_length, 4000),
            )
            self.inputs[f.name] = text_input
            self.add_item(discord.ui.Label(text=clip(f.label, LABEL_MAX), component=text_input))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Hand the values to the adapter."""
        await self._submit(interaction, {name: item.value for name, item in self.inputs.items()})

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Never let a raw error reach the user (the adapter's submit already answers)."""
        log.exception("modal %r failed", self.form.command, exc_info=error)
