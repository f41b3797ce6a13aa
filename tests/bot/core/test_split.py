"""The one markup-aware splitter (bot/core/messages.py) both renderers use for their platform's limits."""

from __future__ import annotations

import pytest

from bot.core.messages import split_markup


def test_no_piece_exceeds_the_limit_and_a_hard_cut_keeps_every_character():
    pieces = split_markup("a" * 95, 10)
    assert all(len(p) <= 10 for p in pieces) and "".join(pieces) == "a" * 95


def test_whole_lines_are_packed_into_each_piece():
    assert split_markup("line one\nline two\nline three", 18) == ["line one\nline two", "line three"]
    assert split_markup("short", 10) == ["short"] and split_markup("", 10) == [""]
    assert split_markup("x\n\ny", 10) == ["x\n\ny"]  # paragraphs kept


@pytest.mark.parametrize(
    ("text", "limit", "first"),
    [
        ("intro text **very bold words here** end", 30, "intro text"),  # core bold
        ("intro text *very bold words here* end", 30, "intro text"),  # Slack bold
        ("see this: [the schedule](https://e.org/s) now", 38, "see this:"),  # core link
        ("see this: <https://e.org/s|the schedule> now", 38, "see this:"),  # Slack link
        ("on the day <t:1768334400:F> or so", 20, "on the day"),  # a timestamp token
        ("run `cohortbot roster import` first", 25, "run"),  # code
    ],
)
def test_a_long_line_is_cut_at_a_space_outside_markup(text, limit, first):
    pieces = split_markup(text, limit)
    assert pieces[0] == first and all(len(p) <= limit for p in pieces)
    assert " ".join(pieces) == text


def test_markup_too_long_for_one_piece_is_cut_at_any_space_then_at_the_limit_but_not_inside_a_token():
    assert split_markup("see <https://example.org/long|the schedule page> now", 30) == [
        "see",
        "<https://example.org/long|the",
        "schedule page> now",
    ]
    assert split_markup("ab<https://example.org/aaaaaaaaaaaaa>", 20)[0] == "ab"
    with pytest.raises(ValueError):
        split_markup("x", 0)
