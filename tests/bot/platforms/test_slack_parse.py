"""Reading slash command text into raw options, and the Slack rendering of the core's markup."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import Command, CommandRegistry, Option, OptionType
from bot.core.messages import Message, MessageField, Table, timestamp
from bot.core.textargs import TextParseError, parse_options, resolve, text_usage, tokenize
from bot.platforms.slack.render import MAX_BLOCKS, SECTION_LIMIT, mrkdwn, render


async def _noop(ctx, **kwargs):
    return None


SUBMIT = Command(
    "submit",
    "Hand in homework.",
    _noop,
    options=(
        Option("week", "Week", OptionType.WEEK, required=True),
        Option("link", "Link", OptionType.URL),
        Option("text", "Text"),
        Option("file", "File", OptionType.FILE),
    ),
)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("2", {"week": "2"}),
        ("week:2", {"week": "2"}),
        ("WEEK:2 text:hello", {"week": "2", "text": "hello"}),
        ('week:2 text:"two words"', {"week": "2", "text": "two words"}),
        ("week:2 text:'single quoted'", {"week": "2", "text": "single quoted"}),
        ("week:2 text:“curly quotes”", {"week": "2", "text": "curly quotes"}),
        ("week:2 text:'don't stop'", {"week": "2", "text": "don't stop"}),
        ("week:2 text:don't stop me", {"week": "2", "text": "don't stop me"}),
        ("week:2 link:https://example.org/a?b=c:d", {"week": "2", "link": "https://example.org/a?b=c:d"}),
        ('text:"" week:3', {"text": "", "week": "3"}),
        ("3 text:hi", {"week": "3", "text": "hi"}),
    ],
)
def test_parse_options(text, expected):
    assert parse_options(SUBMIT, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wek:2", "has no option 'wek'"),
        ("week:", "needs a value"),
        ('week:2 text:"never closed', "never closed"),
        ("week:2 week:3", "given twice"),
        ('week:2 text:"quoted" stray', "don't know what to do with 'stray'"),
        ("file:x.pdf", "has no option 'file'"),
    ],
)
def test_parse_errors_carry_usage(text, message):
    with pytest.raises(TextParseError) as err:
        parse_options(SUBMIT, text)
    assert message in err.value.message
    assert err.value.usage == "/submit week:<week> [link:<url>] [text:<string>]"


def test_usage_skips_file_options():
    assert "file" not in text_usage(SUBMIT)
    assert "file" in SUBMIT.usage()


def test_tokenize_apostrophes_in_bare_words():
    assert [t.text for t in tokenize("it's Ada's week")] == ["it's", "Ada's", "week"]


def test_resolve_groups_and_unknown_commands():
    registry = CommandRegistry()
    registry.add(SUBMIT)
    registry.add(Command("zz start", "Start.", _noop, options=(Option("rounds", "Rounds", OptionType.INTEGER),)))
    registry.add(Command("zz stop", "Stop.", _noop))
    assert resolve(registry, "/zz", "start rounds:3") == ("zz start", {"rounds": "3"})
    assert resolve(registry, "/zz", "START 3") == ("zz start", {"rounds": "3"})
    assert resolve(registry, "/zz", "stop") == ("zz stop", {})
    assert resolve(registry, "/submit", "2") == ("submit", {"week": "2"})
    assert resolve(registry, "/nope", "x") == ("nope", {})  # the core answers "unknown command"
    with pytest.raises(TextParseError) as err:
        resolve(registry, "/zz", "")
    assert "needs a subcommand (one of: start, stop)" in err.value.message
    assert err.value.usage == "/zz start [rounds:<integer>]\n/zz stop"
    with pytest.raises(TextParseError, match="no subcommand 'jump'"):
        resolve(registry, "/zz", "jump")
    with pytest.raises(TextParseError, match="takes no options"):
        resolve(registry, "/zz", "stop now")


def test_the_groups_are_worked_out_once_per_set_of_commands():
    """Every typed command resolves its group: the registry sorts and groups its commands once, not per command,
    and again when a command is added."""
    registry = CommandRegistry()
    registry.add(SUBMIT)
    registry.add(Command("zz start", "Start.", _noop))
    first = registry.groups()
    assert registry.groups() is first
    registry.add(Command("zz stop", "Stop.", _noop))
    assert [c.name for c in registry.groups()["zz"]] == ["zz start", "zz stop"]
    assert resolve(registry, "/zz", "stop") == ("zz stop", {})


def test_mrkdwn_markup():
    due = datetime(2026, 1, 26, 4, 59, tzinfo=UTC)
    times = f"{timestamp(due, 'F')} ({timestamp(due, 'R')}) at {timestamp(due, 't')}"
    text = f"**Due** {times}: [A & B](https://x.org/?a=1&b=2) <b>"
    out = mrkdwn(text, NEW_YORK)
    unix = int(due.timestamp())
    assert out.startswith("*Due* ")
    assert f"<!date^{unix}^{{date_short_pretty}} at {{time}}|Sun 25 Jan 2026, 23:59 EST>" in out
    assert f"<!date^{unix}^{{ago}}|" in out
    assert f"<!date^{unix}^{{time}}|23:59 EST>" in out
    assert "<https://x.org/?a=1&amp;b=2|A &amp; B>" in out
    assert out.endswith("&lt;b&gt;")


def test_render_blocks_and_limits():
    long_text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))  # ~10 000 characters
    message = Message(
        title="T" * 200,
        text=long_text,
        fields=[MessageField(name=f"F{i}", value="v") for i in range(60)],
        footer="**small** print",
    )
    rendered = render(message, NEW_YORK)
    assert rendered.blocks[0]["type"] == "header"
    assert len(rendered.blocks[0]["text"]["text"]) == 150
    assert len(rendered.blocks) == MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in rendered.blocks if b["type"] == "section")
    assert rendered.blocks[1]["text"]["text"].startswith("line 0 ")
    assert rendered.text


def test_small_table_is_a_code_block_and_large_one_a_csv():
    small = render(Message(table=Table(headers=["name", "week"], rows=[["Ada", "1"]])), NEW_YORK)
    assert small.blocks[0]["text"]["text"].startswith("```\nname")
    assert not small.uploads
    table = Table(headers=["n"], rows=[[str(i)] for i in range(900)])
    big = render(Message(title="Who submitted", table=table), NEW_YORK)
    assert big.uploads[0].filename == "who-submitted.csv"
    assert big.uploads[0].content.decode().splitlines()[:2] == ["n", "0"]
    assert "900 rows" in big.blocks[-1]["elements"][0]["text"]
