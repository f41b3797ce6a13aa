"""Options typed as text (Slack and the console): ``name:value`` pairs, quotes for spaces, a bare first word."""

from __future__ import annotations

from bot.core.commands import Command, CommandRegistry
from bot.core.errors import OptionError

OPENING = {'"': '"', "'": "'", "“": "”", "‘": "’"}


def split_words(text: str) -> list[str]:
    """Split on spaces, keeping "double" or 'single' quoted runs together (quotes may follow ``name:``).

    An apostrophe inside a word (``don't``) is kept as text; an unterminated quote is an error.
    """
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    in_word = False
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        elif ch in OPENING and (not in_word or current[-1:] == [":"]):
            quote, in_word = OPENING[ch], True
        else:
            current.append(ch)
            in_word = True
    if quote:
        raise OptionError("a quote is not closed; put values with spaces in matching quotes.")
    if in_word:
        words.append("".join(current))
    return words


def parse_options(command: Command, words: list[str]) -> dict[str, str]:
    """``["2", "link:https://x"]`` -> ``{"week": "2", "link": "https://x"}``; errors name the problem."""
    options: dict[str, str] = {}
    settable = [o for o in command.options if o.type.value != "file"]
    for n, word in enumerate(words):
        name, sep, value = word.partition(":")
        option = command.option(name) if sep else None
        if option is None:
            if n == 0 and settable and not (sep and name.isidentifier() and not value.startswith("//")):
                options[settable[0].name] = word
                continue
            if sep and name.isidentifier() and not value.startswith("//"):
                known = ", ".join(o.name for o in settable) or "none"
                raise OptionError(f"/{command.name} has no option {name!r} (options: {known}).", field=name)
            raise OptionError(f"I don't understand {word!r}; write options as name:value.")
        if name in options:
            raise OptionError(f"{name} is given twice.", field=name)
        if value == "":
            raise OptionError(f"{name} needs a value after the colon.", field=name)
        options[name] = value
    return options


def parse_command_line(registry: CommandRegistry, line: str) -> tuple[Command | None, str, dict[str, str]]:
    """``"/pair start rounds:3"`` -> (command, name, options). ``command`` is ``None`` if unknown."""
    words = split_words(line.strip().lstrip("/"))
    if not words:
        return None, "", {}
    name = words[0].casefold()
    rest = words[1:]
    if rest and registry.get(f"{name} {rest[0].casefold()}"):
        name, rest = f"{name} {rest[0].casefold()}", rest[1:]
    command = registry.get(name)
    if command is None:
        return None, name, {}
    return command, name, parse_options(command, rest)
