"""Reading a command's text on Slack and the console (``/readings week:2``, ``text:"two words"``) into raw options.

Rules (the core parses and validates the values; this only splits the text):

* options are ``name:value``; a value with spaces is quoted with ``"``, ``'`` or the curly quotes Slack clients
  type (``text:"two words"``). Apostrophes inside words (``don't``) do not start a quote;
* a bare first word fills the command's first option (``/readings 2``);
* bare words after an unquoted value continue that value (``/topic text:we disagree`` means ``we disagree``);
* for a group (``/pair start``) the first bare word picks the subcommand;
* an unknown or repeated option, ``name:`` without a value, an unterminated quote or stray text is a
  :class:`TextParseError`, shown privately with the command's usage.

FILE options cannot be set from text, so they are left out of the usage shown on text platforms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.commands import Command, CommandRegistry, Option, OptionType
from bot.core.errors import OptionError
from bot.core.messages import excerpt

QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "„": "“"}
OPTION_RE = re.compile(r"^([A-Za-z][\w-]*):(?!//)(.*)$", re.DOTALL)


class TextParseError(OptionError):
    """The text could not be read; ``str(error)`` says why, and ``usage`` how it should look."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Token:
    """One word of the text: its ``text`` and, for ``name:value`` words, the option ``name``."""

    text: str
    name: str | None = None
    quoted: bool = False


def text_options(command: Command) -> list[Option]:
    """The options that can be written as text (all but FILE)."""
    return [o for o in command.options if o.type is not OptionType.FILE]


def text_usage(command: Command) -> str:
    """``/name opt:<type> [opt:<type>]`` without the options text cannot set."""
    return command.usage(files=False)


def group_usage(commands: list[Command]) -> str:
    """The usage of every subcommand of a group, one per line."""
    return "\n".join(text_usage(c) for c in commands)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The text inside the quote opening at ``start`` and the index after the closing quote.

    A closing quote must end the word, so ``'don't stop'`` keeps its apostrophe.
    """
    close = QUOTES[text[start]]
    closers = {close, '"'} if text[start] in "“”„" else {close}
    end = start + 1
    while end < len(text) and not (text[end] in closers and (end + 1 == len(text) or text[end + 1].isspace())):
        end += 1
    if end >= len(text):
        raise TextParseError(f"A quote opened with {text[start]} is never closed.")
    return text[start + 1 : end], end + 1


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into words; quotes only count at the start of a word or of a ``name:`` value."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in QUOTES:
            value, i = _read_quoted(text, i)
            tokens.append(Token(value, quoted=True))
            continue
        end = i
        while end < n and not text[end].isspace():
            end += 1
        word = text[i:end]
        match = OPTION_RE.match(word)
        if match and match.group(2)[:1] in QUOTES:
            value_start = i + len(match.group(1)) + 1
            value, end = _read_quoted(text, value_start)
            tokens.append(Token(value, name=match.group(1).casefold(), quoted=True))
        elif match:
            tokens.append(Token(match.group(2), name=match.group(1).casefold()))
        else:
            tokens.append(Token(word))
        i = end
    return tokens


def parse_options(command: Command, text: str) -> dict[str, str]:
    """Raw option strings for ``command`` from ``text``; raises :class:`TextParseError`."""
    usage = text_usage(command)
    try:
        return _parse(command, tokenize(text))
    except TextParseError as exc:
        raise TextParseError(exc.message, usage) from None


def _parse(command: Command, tokens: list[Token]) -> dict[str, str]:
    options = {o.name.casefold(): o for o in text_options(command)}
    out: dict[str, str] = {}
    last: str | None = None  # the option an unquoted value may continue
    for n, token in enumerate(tokens):
        if token.name is not None:
            option = options.get(token.name)
            if option is None:
                known = ", ".join(options) or "none"
                raise TextParseError(
                    f"/{command.name} has no option {excerpt(token.name)} (options: {known}). "
                    'If that was part of a value, put the value in quotes: name:"..."'
                )
            if option.name in out:
                raise TextParseError(f"{option.name} is given twice.")
            if token.text == "" and not token.quoted:
                raise TextParseError(f"{option.name}: needs a value after the colon.")
            out[option.name] = token.text
            last = None if token.quoted else option.name
        elif n == 0:
            if not options:
                raise TextParseError(f"/{command.name} takes no options.")
            first = next(iter(options.values()))
            out[first.name] = token.text
            last = None if token.quoted else first.name
        elif last is not None and not token.quoted:
            out[last] = f"{out[last]} {token.text}"
        else:
            raise TextParseError(f"I don't know what to do with {excerpt(token.text)}; write options as name:value.")
    return out


def resolve(registry: CommandRegistry, slash: str, text: str) -> tuple[str, dict[str, str]]:
    """The core command name and raw options for ``/slash text``.

    A group's first word picks the subcommand. A name the registry does not know is passed on unchanged,
    so the core answers it ("unknown command, try /help").
    """
    name = slash.lstrip("/").strip().casefold()
    groups = registry.groups()
    if name in groups:
        subs = groups[name]
        word, _, rest = text.strip().partition(" ")
        chosen = registry.get(f"{name} {word.casefold()}") if word else None
        if chosen is None:
            names = ", ".join(c.leaf for c in subs)
            what = f"/{name} has no subcommand {excerpt(word)}" if word else f"/{name} needs a subcommand"
            raise TextParseError(f"{what} (one of: {names}).", group_usage(subs))
        return chosen.name, parse_options(chosen, rest)
    command = registry.get(name)
    if command is None:
        return name, {}
    return command.name, parse_options(command, text)
