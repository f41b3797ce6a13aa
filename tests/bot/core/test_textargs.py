"""Text options (Slack and console): name:value, quotes, bare first word, clear errors."""

from __future__ import annotations

import pytest

from bot.app import CohortBot
from bot.core.errors import OptionError
from bot.core.textargs import parse_command_line, split_words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('week:2 text:"two words"', ["week:2", "text:two words"]),
        ("text:'single quoted' x", ["text:single quoted", "x"]),
        ("text:“curly quotes”", ["text:curly quotes"]),
        ("don't split apostrophes", ["don't", "split", "apostrophes"]),
        ("  spaced   out  ", ["spaced", "out"]),
        ('"a b"', ["a b"]),
    ],
)
def test_split_words(text: str, words: list[str]) -> None:
    assert split_words(text) == words


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(OptionError, match="quote"):
        split_words('text:"never closed')


async def test_parse_command_line(app: CohortBot) -> None:
    command, name, options = parse_command_line(app.registry, "/readings week:3")
    assert command is not None and name == "readings" and options == {"week": "3"}
    assert parse_command_line(app.registry, "/readings 3")[2] == {"week": "3"}
    assert parse_command_line(app.registry, "/nothing here")[0] is None
    with pytest.raises(OptionError, match="no option 'colour'"):
        parse_command_line(app.registry, "/readings colour:red")
    with pytest.raises(OptionError, match="needs a value"):
        parse_command_line(app.registry, "/readings week:")
    with pytest.raises(OptionError, match="given twice"):
        parse_command_line(app.registry, "/readings week:1 week:2")
    with pytest.raises(OptionError, match="name:value"):
        parse_command_line(app.registry, "/readings 1 2")
