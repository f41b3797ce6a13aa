"""Who runs a section: one rule (bot.membership), and every feature that asks gets the same answer from it."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.context import Context, Place
from bot.core.people import PersonInput
from bot.core.roles import Role
from bot.membership import runners, section_runners, sections_of, sections_run_by
from cogs.attendance._pay import facilitator_pay
from cogs.homework._reminders import section_leads
from cogs.sections._common import roster
from tests.plugin import console_actor


def name_in_file(app: CohortBot, section: str, *entries: str) -> None:
    """The cohort file with ``entries`` added to ``section``'s facilitators."""
    cohort = app.cohort
    sections = [
        s.model_copy(update={"facilitators": [*s.facilitators, *entries]}) if s.name == section else s
        for s in cohort.sections
    ]
    app.cohort = cohort.model_copy(update={"sections": sections})
    app.cohort._by_name = None  # model_copy copies the index of names too


async def test_one_rule_decides_who_runs_a_section_and_every_feature_agrees(app, clock):
    # An organizer named in the file by name (any case), a scholar named by email, a removed facilitator
    # (still named in the file and still with a roster section), and a facilitator with no section.
    name_in_file(app, "apac-thu", "grace HOPPER", "hedy@example.com")
    name_in_file(app, "europe-wed", "emmy@example.com")
    [emmy] = await app.people.by_name("Emmy Noether")
    await app.people.set_removed(emmy.id, True, clock.now())
    await app.people.upsert(PersonInput("Lone Facilitator", "lone@example.com", Role.FACILITATOR, "intro"), clock.now())
    [katherine] = await app.people.by_name("Katherine Johnson")
    await app.people.set_removed(katherine.id, True, clock.now())

    expected = {
        "Alan Turing": ["americas-tue"],  # facilitator, roster section, and named by email
        "Claude Shannon": ["apac-thu"],
        "Grace Hopper": ["apac-thu"],  # organizer: only because the file names them
        "Hedy Lamarr": ["apac-thu"],  # a scholar runs only what the file names them for, not their own section
    }
    people = {p.name: p for p in await app.people.all(include_removed=True)}
    found = {n: sections_run_by(app.cohort, p, p.role) for n, p in people.items()}
    assert {n: s for n, s in found.items() if s} == expected
    assert found["Katherine Johnson"] == [] and found["Emmy Noether"] == [] and found["Lone Facilitator"] == []
    assert found["Ada Lovelace"] == []  # a scholar with a roster section does not run it
    assert sections_of(app.cohort, people["Hedy Lamarr"]) == ["americas-tue", "apac-thu"]  # belongs or runs

    # every way in gives the same answer
    assert [(p.name, s) for p, s in await runners(app)] == sorted(expected.items())
    assert [(p.name, s) for p, s in await section_leads(app)] == sorted(expected.items())
    assert {p.person.name: p.sections for p in await facilitator_pay(app)} == expected
    by_section = await section_runners(app)
    assert {s: [p.name for p in ps] for s, ps in by_section.items()} == {
        "americas-tue": ["Alan Turing"],
        "apac-thu": ["Claude Shannon", "Grace Hopper", "Hedy Lamarr"],
    }
    assert await section_runners(app, ["APAC-THU", "nowhere"]) == {"apac-thu": by_section["apac-thu"]}
    for section in app.cohort.sections:
        shown = await roster(app, section)
        assert [p.name for p in shown.facilitators] == [p.name for p in by_section.get(section.name, [])]
    for name, person in people.items():
        if person.removed:
            continue
        actor = await console_actor(app, name)
        ctx = Context(app, actor, person, person.role, Place(), clock.now())
        assert ctx.own_sections == expected.get(name, [])
