"""Slash command names on Slack: a name that clashes with one of Slack's own commands never reaches an app.

Such commands are registered under a prefix (``SLACK_COMMAND_PREFIX``, default ``cohort-``: ``/topic`` becomes
``/cohort-topic``) in the manifest, read back when they arrive, and rewritten in everything the bot says on
Slack (``/help``, usage lines, reminders), so features keep writing ``/topic``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.messages import Form, Message, MessageField

# Slack's built-in slash commands (and ones it reserves); an app's command of the same name is never called.
SLACK_BUILTINS = frozenset(
    {
        "active",
        "apps",
        "archive",
        "away",
        "call",
        "close",
        "collapse",
        "dm",
        "dnd",
        "expand",
        "feed",
        "feedback",
        "giphy",
        "invite",
        "invite_people",
        "join",
        "kick",
        "leave",
        "me",
        "msg",
        "mute",
        "open",
        "prefs",
        "remind",
        "remove",
        "rename",
        "search",
        "shortcuts",
        "shrug",
        "star",
        "status",
        "topic",
        "who",
    }
)


class SlackNames:
    """The Slack name of each top-level command, and the way back."""

    def __init__(self, names: Iterable[str], prefix: str = "cohort-") -> None:
        self.prefix = prefix
        self.to_slack = {n: f"{prefix}{n}" for n in names if n in SLACK_BUILTINS}
        self.from_slack = {v: k for k, v in self.to_slack.items()}
        self._pattern = (
            re.compile(
                r"(?<![\w/-])/("
                + "|".join(map(re.escape, sorted(self.to_slack, key=len, reverse=True)))
                + r")(?![\w-])"
            )
            if self.to_slack
            else None
        )

    def slack(self, name: str) -> str:
        """``topic`` -> ``cohort-topic``; names Slack leaves alone are unchanged."""
        return self.to_slack.get(name, name)

    def core(self, slash: str) -> str:
        """The core's name for the Slack command ``/cohort-topic`` (-> ``/topic``)."""
        bare = slash.strip().lstrip("/")
        return "/" + self.from_slack.get(bare.casefold(), bare)

    def text(self, text: str) -> str:
        """``text`` with every ``/topic`` written as ``/cohort-topic``."""
        if self._pattern is None or not text or "/" not in text:
            return text
        return self._pattern.sub(lambda m: "/" + self.to_slack[m.group(1)], text)

    def message(self, message: Message) -> Message:
        """``message`` with command names rewritten in its title, text, fields and footer (``message`` itself when
        none is named: most answers, so they are not copied)."""
        if self._pattern is None:
            return message
        fields = [self._field(f) for f in message.fields]
        update = {
            "title": self.text(message.title) if message.title else message.title,
            "text": self.text(message.text),
            "footer": self.text(message.footer) if message.footer else message.footer,
        }
        if all(a is b for a, b in zip(fields, message.fields, strict=True)) and all(
            value == getattr(message, key) for key, value in update.items()
        ):
            return message
        return message.model_copy(update={**update, "fields": fields})

    def _field(self, field: MessageField) -> MessageField:
        name, value = self.text(field.name), self.text(field.value)
        if name == field.name and value == field.value:
            return field
        return field.model_copy(update={"name": name, "value": value})

    def form(self, form: Form) -> Form:
        """``form`` with command names rewritten in its intro."""
        return form.model_copy(update={"intro": self.text(form.intro)}) if form.intro else form
