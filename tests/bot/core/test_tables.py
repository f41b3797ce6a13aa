"""One CSV writer (``Table.as_csv``) for exports, ``/report`` files and large tables on Discord and Slack."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.messages import Message, Table
from bot.platforms.discord.render import render as discord_render
from bot.platforms.slack.render import render as slack_render

ROOT = Path(__file__).resolve().parents[3]
BERLIN = ZoneInfo("Europe/Berlin")
TABLE = Table(
    headers=["who", "**when**"],
    rows=[['Zoë, "the" first', "<t:1769403540:F>"]] + [[f"person {n}", "<t:1769403540:f>"] for n in range(400)],
)


def test_as_csv_quotes_keeps_utf8_and_renders_times_only_when_given_a_zone():
    raw = TABLE.as_csv()
    assert raw.startswith('who,**when**\r\n"Zoë, ""the"" first",<t:1769403540:F>\r\n'.encode())
    rows = list(csv.reader(io.StringIO(TABLE.as_csv(BERLIN).decode("utf-8"))))
    assert rows[0] == ["who", "when"]
    assert rows[1] == ['Zoë, "the" first', "Mon 26 Jan 2026, 05:59 CET"]
    assert len(rows) == 402


def test_the_adapters_attach_exactly_as_csv():
    message = Message(title="Big", table=TABLE)
    [part] = discord_render(message, BERLIN)
    assert part.files[0].fp.read() == TABLE.as_csv(BERLIN)
    assert slack_render(message, BERLIN).uploads[0].content == TABLE.as_csv(BERLIN)


def test_no_other_csv_writer_in_the_bot():
    writers = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "cogs", "schedules")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["bot/core/messages.py"]
