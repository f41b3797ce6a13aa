"""The core: permission tiers for every command and role, sections, unknown people, errors, options."""

from __future__ import annotations

import logging

import pytest

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command
from bot.core.context import Actor, Context
from bot.core.errors import UserError
from bot.core.messages import Reply
from bot.core.roles import Role
from tests.plugin import RunAs, console_actor

PEOPLE = {
    Role.SCHOLAR: "Ada Lovelace",
    Role.FACILITATOR: "Alan Turing",
    Role.ORGANIZER: "Grace Hopper",
}


def is_permission_refusal(reply: Reply) -> bool:
    return reply.error is not None and "is only for" in reply.error


async def test_every_command_for_every_role(app: CohortBot, as_: RunAs) -> None:
    """Below a command's tier: a private refusal naming the tier. At or above: never that refusal."""
    assert len(app.registry) >= 3
    for cmd in app.registry:
        for role, name in PEOPLE.items():
            reply = await as_(name, cmd.name)
            allowed = cmd.min_role is None or role >= cmd.min_role
            assert is_permission_refusal(reply) is (not allowed), (cmd.name, role)
            if not allowed:
                assert reply.private
                assert role.label in reply.error


async def test_higher_tiers_may_run_lower_commands(app: CohortBot, as_: RunAs) -> None:
    for name in PEOPLE.values():
        reply = await as_(name, "readings", week="3")
        assert reply.error is None
        assert "Week 3" in reply.message.title


@pytest.fixture
def section_command(app: CohortBot) -> None:
    @command(
        "roster-of",
        "Test: list a section",
        Option("section", "Section", OptionType.SECTION, required=True, own_sections=True),
        min_role=Role.FACILITATOR,
    )
    async def roster_of(ctx: Context, section: str) -> str:
        people = await ctx.app.people.in_section(section, Role.SCHOLAR)
        return ", ".join(p.name for p in people)

    app.registry.add(roster_of)


@pytest.mark.usefixtures("section_command")
async def test_facilitator_is_limited_to_own_sections(as_: RunAs) -> None:
    own = await as_("Alan Turing", "roster-of", section="americas-tue")
    assert own.error is None and "Ada Lovelace" in own.message.text
    other = await as_("Alan Turing", "roster-of", section="europe-wed")
    assert other.private and "your own sections (americas-tue)" in other.error
    anyone = await as_("Grace Hopper", "roster-of", section="EUROPE-WED")
    assert anyone.error is None and "Emmy Noether" in anyone.message.text


async def test_unknown_person_is_refused_politely(app: CohortBot) -> None:
    for name in ("help", "readings", "no-such-command"):
        reply = await app.dispatch(Actor("discord", "999999999999999999", "Stranger"), name)
        assert reply.private and reply.error
        if name != "no-such-command":
            assert "not on the roster" in reply.error
            assert app.cohort.contact in reply.error
            assert "999999999999999999" in reply.error  # what to tell the organizers


async def test_unexpected_error_gives_apology_not_traceback(
    app: CohortBot, as_: RunAs, caplog: pytest.LogCaptureFixture
) -> None:
    @command("explode", "Test: fails")
    async def explode(ctx: Context) -> str:
        raise RuntimeError("database on fire: secret detail")

    app.registry.add(explode)
    with caplog.at_level(logging.ERROR):
        reply = await as_("Ada Lovelace", "explode")
    assert reply.private
    assert "Sorry" in reply.error and "error " in reply.error
    assert "secret detail" not in reply.error and "Traceback" not in reply.error
    assert "RuntimeError" in caplog.text and "database on fire" in caplog.text


async def test_a_handler_returning_nonsense_is_an_unexpected_error(app: CohortBot, as_: RunAs) -> None:
    @command("nonsense", "Test: returns a number")
    async def nonsense(ctx: Context) -> int:
        return 42

    app.registry.add(nonsense)
    reply = await as_("Ada Lovelace", "nonsense")
    assert reply.private and "Sorry" in reply.error


async def test_user_error_from_handler_is_shown_privately(app: CohortBot, as_: RunAs) -> None:
    @command("refuse", "Test: refuses", private=False)
    async def refuse(ctx: Context) -> str:
        raise UserError("the deadline has passed")

    app.registry.add(refuse)
    reply = await as_("Ada Lovelace", "refuse")
    assert reply.private and reply.error == "the deadline has passed"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"week": "9"}, "There is no week 9"),
        ({"week": "two"}, "week must be a week number"),
        ({"week": "0"}, "There is no week 0"),
        ({"colour": "red"}, "has no option 'colour'"),
    ],
)
async def test_bad_options_say_what_is_wrong_with_usage(as_: RunAs, options: dict, expected: str) -> None:
    reply = await as_("Ada Lovelace", "readings", **options)
    assert reply.private and expected in reply.error
    assert "Usage: `/readings [week:<week>]`" in reply.error


async def test_timezone_sets_zone_and_suggests_on_typo(app: CohortBot, as_: RunAs) -> None:
    bad = await as_("Ada Lovelace", "timezone", zone="Europe/Berln")
    assert "Europe/Berlin" in bad.error
    assert (await app.people.by_email("ada@example.com")).timezone is None  # nothing changed
    good = await as_("Ada Lovelace", "timezone", zone="Asia/Tokyo")
    assert good.error is None and "Asia/Tokyo" in good.message.text
    assert (await app.people.by_email("ada@example.com")).timezone == "Asia/Tokyo"
    missing = await as_("Ada Lovelace", "timezone")
    assert "needs zone" in missing.error


async def test_help_lists_only_what_the_role_may_do(app: CohortBot, as_: RunAs) -> None:
    @command("organize", "Test: organizer only", min_role=Role.ORGANIZER)
    async def organize(ctx: Context) -> str:
        return "ok"

    app.registry.add(organize)
    scholar = (await as_("Ada Lovelace", "help")).message.text
    organizer = (await as_("Grace Hopper", "help")).message.text
    assert "/organize" not in scholar and "/organize" in organizer
    assert "/readings" in scholar


async def test_discord_roles_map_to_bot_roles(app: CohortBot) -> None:
    ada = Actor("discord", "100000000000000011", "Ada", granted_role=Role.ORGANIZER)
    ctx = await app.dispatcher.context(ada)
    assert ctx.role is Role.ORGANIZER
    plain = await app.dispatcher.context(Actor("discord", "100000000000000011", "Ada"))
    assert plain.role is Role.SCHOLAR


async def test_person_option_resolves_names_mentions_and_emails(app: CohortBot) -> None:
    from bot.core.options import resolve_person

    ctx = await app.dispatcher.context(Actor("discord", "100000000000000001"))
    for text in ("Ada Lovelace", "ada", "ADA@example.com", "<@100000000000000011>", "<@!100000000000000011>"):
        assert (await resolve_person(ctx, text)).name == "Ada Lovelace", text
    with pytest.raises(UserError, match="Nobody called"):
        await resolve_person(ctx, "Nikola Tesla")


async def test_autocomplete(app: CohortBot) -> None:
    actor = await console_actor(app, "Alan Turing")
    weeks = await app.dispatcher.complete(actor, "readings", "week", "interp")
    assert [c.value for c in weeks] == [4]
    zones = await app.dispatcher.complete(actor, "timezone", "zone", "berl")
    assert zones[0].value == "Europe/Berlin"
    stranger = await app.dispatcher.complete(Actor("console", "Nobody"), "readings", "week", "")
    assert stranger == []


async def test_sections_run_by_follow_the_file_and_a_reloaded_cohort(app: CohortBot) -> None:
    from bot.membership import sections_run_by

    alan = (await app.people.by_name("Alan Turing"))[0]
    assert sections_run_by(app.cohort, alan, alan.role) == ["americas-tue"]
    data = app.cohort.model_dump()
    data["sections"][1]["facilitators"] = ["ALAN TURING"]  # by name, any case, without a roster section
    data["sections"][2]["facilitators"] = ["Alan@MLsafety-course.example.org"]
    original = app.cohort
    app.cohort = type(original).model_validate(data)  # what a reload does: a new Cohort
    try:
        assert sections_run_by(app.cohort, alan, alan.role) == ["americas-tue", "apac-thu", "europe-wed"]
        claude = (await app.people.by_name("Claude Shannon"))[0]
        assert sections_run_by(app.cohort, claude, Role.SCHOLAR) == []  # not named in the file any more
    finally:
        app.cohort = original
    assert sections_run_by(app.cohort, alan, alan.role) == ["americas-tue"]
