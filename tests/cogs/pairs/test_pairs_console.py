"""A whole pairing session in the console demo, typed as a newcomer would: the lobby's Join button, rounds that
start as the clock passes them, DMs, /pair status, /topic (accepted, refused, listed), /pair leave, the end."""

from __future__ import annotations

from tests.bot.platforms.test_console import demo


def test_a_pairing_session_in_the_console_demo() -> None:
    script = "\n".join(
        [
            "/as Ada",
            "/pair start",  # a scholar: refused
            "/as Alan",
            "/pair start rounds:3 minutes:10",
            "/as Ada",
            "/press 1",
            "/as Hedy",
            "/press 1",
            "/as Rosalind",
            "/press 1",
            "/as Emmy",
            "/press 1",
            "/clock +2m",  # the lobby closes: round 1
            "/as Ada",
            "/pair status",
            '/topic text:"Cats are better than dogs"',
            "/clock +10m",  # round 2
            '/topic text:"dogs are better than cats!"',
            '/topic text:"Tabs are better than spaces"',
            "/topic",
            "/as Emmy",
            "/pair leave",
            "/clock +10m",  # round 3, without Emmy
            "/clock +10m",  # the end
            "/as Alan",
            "/pair next",
        ]
    )
    result = demo(script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "/pair start is only for facilitators and organizers; you are a scholar" in out
    assert "The lobby is open in #section-americas" in out
    assert "[posted in #section-americas]\n  Rotating pairs: press Join to take part" in out
    assert out.count("You're in! You will be paired from round 1") == 4
    for number in (1, 2, 3):
        assert f"  Round {number} of 3\n  ============" in out
    mentions = out.split("  Round 1 of 3\n")[0].rsplit("[posted in #section-americas]", 1)[1]
    assert all(f"@{name}" in mentions for name in ("Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"))
    round_1 = out.split("Round 1 of 3\n")[1].split("[DM to")[0]
    assert round_1.count(" & ") == 2  # two pairs, by name
    assert out.count("Round 1 of 3: your partner") == 4  # a DM each
    assert "Find something you disagree about; a disagreement you have used before is not allowed." in out
    assert "Stuck? Try: “" in out
    assert "Logged “Cats are better than dogs” for you and " in out
    assert "That is nearly the same as “Cats are better than dogs”, which you used" in out
    assert "Logged “Tabs are better than spaces”" in out
    assert "Your disagreements" in out and "Tabs are better than spaces" in out.split("Your disagreements")[1]
    assert "You have left the pairs in #section-americas: not in round 3 or after." in out
    round_3 = out.split("Round 3 of 3\n")[1].split("[DM to")[0]
    assert "Emmy" not in round_3 and round_3.count(" & ") == 1 and round_3.count(", ") >= 1  # a trio of three
    assert "That was the last of 3 rounds." in out
    assert "No pairing session is running that you run" in out
