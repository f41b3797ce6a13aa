"""Rendering neutral messages as Discord embeds and files, within Discord's limits (no network)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.messages import Attachment, Message, MessageField, Table, split_markup
from bot.platforms.discord.render import render

UTC = ZoneInfo("UTC")


def within_limits(parts) -> None:
    for part in parts:
        assert len(part.embeds) <= 10
        assert sum(len(e) for e in part.embeds) <= 6000
        for e in part.embeds:
            assert len(e.title or "") <= 256
            assert len(e.description or "") <= 4096
            assert len(e.fields) <= 25
            assert all(len(f.name) <= 256 and 0 < len(f.value) <= 1024 for f in e.fields)


def test_a_simple_message_is_one_embed_and_markup_passes_through():
    text = "**Due** <t:1769403540:F> — see [the notebook](https://example.org/nb)"
    [part] = render(Message(title="Week 2", text=text, url="https://example.org", footer="bye"), UTC)
    [embed] = part.embeds
    assert (embed.title, embed.description, embed.url) == ("Week 2", text, "https://example.org")
    assert embed.footer.text == "bye"
    assert part.files == []


def test_long_text_is_split_at_line_ends():
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))  # about 10,000 characters
    parts = render(Message(title="Long", text=text), UTC)
    within_limits(parts)
    embeds = [e for p in parts for e in p.embeds]
    assert embeds[0].title == "Long" and all(e.title is None for e in embeds[1:])
    assert "\n".join(e.description for e in embeds) == text


def test_many_and_long_fields_are_spread_over_embeds_and_messages():
    fields = [MessageField(name=f"F{n}", value="v" * 900) for n in range(30)]
    fields.append(MessageField(name="Long", value="\n".join(["y" * 500] * 5)))
    parts = render(Message(text="intro", fields=fields, footer="the end"), UTC)
    within_limits(parts)
    shown = [f for p in parts for e in p.embeds for f in e.fields]
    assert [f.name for f in shown][:30] == [f"F{n}" for n in range(30)]
    assert [f.name for f in shown][30:] == ["Long", "Long (continued)", "Long (continued)"]
    assert "".join(f.value for f in shown[30:]).replace("\n", "") == "y" * 2500
    assert len(parts) > 1
    assert parts[-1].embeds[-1].footer.text == "the end"


def test_a_small_table_is_a_code_block_and_a_large_one_a_csv_file():
    small = Table(headers=["name", "week"], rows=[["Ada", "1"], ["Emmy", "2"]])
    [part] = render(Message(text="Who", table=small), UTC)
    assert part.embeds[0].description == "Who\n```\n" + small.as_text(UTC) + "\n```"
    assert part.files == []

    large = Table(headers=["name", "note"], rows=[[f"person {n}", "z" * 40] for n in range(100)])
    [part] = render(Message(title="Big report", table=large), UTC)
    [file] = part.files
    assert file.filename == "big-report.csv"
    content = file.fp.read().decode()
    assert content.splitlines()[0] == "name,note" and len(content.splitlines()) == 101
    assert "attached as a CSV" in part.embeds[0].description


def test_times_in_tables_are_written_out_in_the_given_zone():
    table = Table(headers=["who", "when"], rows=[["Ada", "<t:1769403540:F>"]])
    [part] = render(Message(table=table), ZoneInfo("Europe/Berlin"))
    assert "<t:" not in part.embeds[0].description and "Mon 26 Jan 2026, 05:59 CET" in part.embeds[0].description
    big = Table(headers=["who", "when"], rows=[["Ada", "<t:1769403540:F>"]] * 100)
    [part] = render(Message(table=big), UTC)
    assert "<t:" not in part.files[0].fp.read().decode()


def test_files_are_attached_to_the_first_message_only():
    files = [Attachment(filename="a.txt", content=b"a"), Attachment(filename="b.txt", content=b"b")]
    parts = render(Message(text="x" * 9000, files=files), UTC)
    assert [f.filename for f in parts[0].files] == ["a.txt", "b.txt"]
    assert all(not p.files for p in parts[1:])


def test_split_text_never_exceeds_the_limit_even_without_spaces():
    assert all(len(p) <= 10 for p in split_markup("a" * 95, 10))
    assert "".join(split_markup("a" * 95, 10)) == "a" * 95
