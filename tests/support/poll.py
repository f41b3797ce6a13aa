"""A tiny test-only feature that uses buttons and selects, to test the core's actions on every platform.

``/poll`` (facilitators) answers with a message carrying: a "Yes" button (anyone votes once; the answer replaces
the message), a "Later" button that expires 10 minutes after the poll, a multi-select of the section's members
(facilitators only), and a people select (the platform's user picker, facilitators only).
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Action, Button, Message, Reply, Select, SelectChoice
from bot.core.options import person_ref
from bot.core.roles import Role

VOTED = "poll_votes"  # app attribute: person ids who voted


@command("poll", "A test poll with buttons and selects.", min_role=Role.FACILITATOR)
async def poll(ctx: Context) -> Reply:
    """The poll message."""
    members = await ctx.app.people.in_section("americas-tue", Role.SCHOLAR)
    return Reply.of(
        Message(
            text="Shall we?",
            actions=[
                Button(label="Yes", style="primary", action=Action(command="poll vote", options={"choice": "yes"})),
                Button(
                    label="Later",
                    action=Action(
                        command="poll vote", options={"choice": "later"}, expires=ctx.now + timedelta(minutes=10)
                    ),
                ),
                Select(
                    placeholder="Who was there?",
                    action=Action(command="poll pick"),
                    into="people",
                    choices=[SelectChoice(label=p.name, value=person_ref(p)) for p in members],
                    min_values=0,
                    max_values=len(members),
                ),
                Select(
                    placeholder="Pick anyone",
                    action=Action(command="poll pick"),
                    into="people",
                    people=True,
                    selected=[person_ref(members[0])],  # pre-selected: the first member
                ),
            ],
        ),
        private=False,
    )


@command("poll vote", "Vote.", Option("choice", "yes or later", required=True), min_role=Role.SCHOLAR, hidden=True)
async def vote(ctx: Context, choice: str) -> Reply:
    """Record a vote once per person; the answer replaces the poll message."""
    voted: set[int] = ctx.app.__dict__.setdefault(VOTED, set())
    if ctx.person.id in voted:
        raise UserError("You have already voted in this poll.")
    voted.add(ctx.person.id)
    return Reply(message=Message(text=f"{ctx.person.name} voted {choice}."), replace=True, private=False)


@command(
    "poll pick",
    "Pick people.",
    Option("people", "Who", OptionType.PEOPLE, own_sections=True),
    min_role=Role.FACILITATOR,
    hidden=True,
)
async def pick(ctx: Context, people: tuple = ()) -> Reply:
    """Say who was picked."""
    return Reply.text(f"{ctx.person.name} picked {', '.join(p.name for p in people) or 'nobody'}.")


def install(app: CohortBot) -> None:
    """Add the poll's commands to ``app`` (before a platform starts, so /poll is registered there)."""
    for c in (poll, vote, pick):
        app.registry.add(c)
