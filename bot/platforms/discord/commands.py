"""Discord application commands built from the core's declarations: nothing here knows any feature.

discord.py derives a command's options from its callback's signature. We cannot write a signature per
feature, so each command gets one generic callback (``interaction, **values``) that *shows* discord.py a
signature with the interaction only, and its options are set from the declaration as
:class:`~discord.app_commands.transformers.CommandParameter` objects (``Command._params``, the same objects
discord.py builds itself). discord.py then syncs them, parses the interaction's options by name and calls
the callback with them as keyword arguments. ``tests/bot/platforms/test_discord_commands.py`` pins this.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands.transformers import CommandParameter

from bot.core.commands import Choice, Command, CommandRegistry, Option, OptionType

NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICE_MAX = 25

OPTION_TYPES = {
    OptionType.STRING: discord.AppCommandOptionType.string,
    OptionType.INTEGER: discord.AppCommandOptionType.integer,
    OptionType.BOOLEAN: discord.AppCommandOptionType.boolean,
    OptionType.WEEK: discord.AppCommandOptionType.integer,
    OptionType.SECTION: discord.AppCommandOptionType.string,
    OptionType.PERSON: discord.AppCommandOptionType.string,
    OptionType.PEOPLE: discord.AppCommandOptionType.string,  # names, emails or mentions separated by commas
    OptionType.DATETIME: discord.AppCommandOptionType.string,
    OptionType.ZONE: discord.AppCommandOptionType.string,
    OptionType.URL: discord.AppCommandOptionType.string,
    OptionType.FILE: discord.AppCommandOptionType.attachment,
}
AUTOCOMPLETED = {OptionType.WEEK, OptionType.SECTION, OptionType.PERSON, OptionType.PEOPLE, OptionType.ZONE}

# What the adapter does when a command runs or an option is being typed.
Invoke = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]
Complete = Callable[[discord.Interaction, Command, Option, str], Awaitable[list[Choice]]]


def _describe(text: str) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def discord_choice(choice: Choice, option: Option) -> app_commands.Choice | None:
    """A core choice as a Discord choice of the option's wire type (``None`` if it cannot be one)."""
    value: str | int = choice.value
    if OPTION_TYPES[option.type] is discord.AppCommandOptionType.integer:
        try:
            value = int(value)
        except (TypeError, ValueError):
            return None
    else:
        value = str(value)[:100]
    return app_commands.Choice(name=str(choice.name)[:100] or str(value)[:100], value=value)


def wants_autocomplete(option: Option) -> bool:
    """Whether Discord should ask us for suggestions (never together with fixed choices)."""
    return not option.choices and (option.autocomplete is not None or option.type in AUTOCOMPLETED)


def build_parameter(command: Command, option: Option, complete: Complete) -> CommandParameter:
    """One option of ``command`` as a discord.py parameter."""
    kind = OPTION_TYPES[option.type]
    parameter = CommandParameter(
        name=option.name,
        description=_describe(option.description),
        required=option.required,
        default=None,
        choices=[c for c in (discord_choice(ch, option) for ch in option.choices[:CHOICE_MAX]) if c is not None],
        type=kind,
    )
    if kind is discord.AppCommandOptionType.string:
        parameter.max_value = option.max_length  # discord.py sends it as max_length for strings
    elif kind is discord.AppCommandOptionType.integer:
        parameter.min_value = option.min_value
        parameter.max_value = option.max_value
    if wants_autocomplete(option):

        async def autocomplete(interaction: discord.Interaction, current: Any) -> list[app_commands.Choice]:
            found = await complete(interaction, command, option, str(current or ""))
            return [c for c in (discord_choice(ch, option) for ch in found[:CHOICE_MAX]) if c is not None]

        parameter.autocomplete = autocomplete
    return parameter


_INTERACTION_ONLY = inspect.Signature([inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)])


def build_command(command: Command, invoke: Invoke, complete: Complete) -> app_commands.Command:
    """``command`` as a discord.py slash command named after its last word."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await invoke(interaction, command, values)

    callback.__signature__ = _INTERACTION_ONLY  # type: ignore[attr-defined]
    built = app_commands.Command(name=command.leaf, description=_describe(command.description), callback=callback)
    # Discord wants the required options first; otherwise the declaration's order is kept.
    ordered = sorted(command.options, key=lambda o: not o.required)
    built._params = {o.name: build_parameter(command, o, complete) for o in ordered}
    built.extras["cohortbot"] = command.name
    return built


def build_commands(
    registry: CommandRegistry, invoke: Invoke, complete: Complete
) -> list[app_commands.Command | app_commands.Group]:
    """Every declared command; two-word names become a group with subcommands."""
    out: list[app_commands.Command | app_commands.Group] = []
    groups: dict[str, app_commands.Group] = {}
    for command in registry:
        built = build_command(command, invoke, complete)
        if command.group is None:
            out.append(built)
            continue
        group = groups.get(command.group)
        if group is None:
            members = [c.leaf for c in registry.groups()[command.group]]
            group = app_commands.Group(
                name=command.group, description=_describe(f"/{command.group}: {', '.join(members)}")
            )
            groups[command.group] = group
            out.append(group)
        group.add_command(built)
    return out
