"""The Slack app manifest, generated from the command registry so it cannot drift from the code.

``cohortbot slack-manifest`` prints it; paste it at https://api.slack.com/apps -> Create New App -> From a manifest
(see docs/slack.md).
"""

from __future__ import annotations

from bot.core.commands import Command, CommandRegistry
from bot.core.textargs import text_options
from bot.platforms.slack.names import SlackNames

# What the features need: slash commands, posting (also in channels the bot was not invited to), DMs, files,
# looking up channels by name (public and private) and people, and reading the bot's own recent posts back
# (channel, private channel and DM history) when recovering from a crash, so nothing is posted twice.
# The roster: linking people by email (users:read.email, and the team_join event for newcomers), inviting them
# to their track's and section's channels (channels:manage, groups:write; channels:join to enter a public one).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:write",
    "users:read",
    "users:read.email",
)
BOT_EVENTS = ("app_mention", "team_join")
DESCRIPTION_LIMIT = 140
USAGE_LIMIT = 1000


def _hint(command: Command) -> str:
    """The usage after the slash name, without FILE options (``[week:<week>]``)."""
    return " ".join(o.usage() for o in text_options(command))


def slash_command(name: str, commands: list[Command], request_url: str, names: SlackNames | None = None) -> dict:
    """One slash command: a single command, or a group whose first word picks the subcommand.

    Its Slack name comes from ``names`` (a prefix where Slack keeps the name for itself); hints are rewritten too.
    """
    names = names or SlackNames([])
    if len(commands) == 1 and commands[0].name == name:
        description, hint = commands[0].description, _hint(commands[0])
    else:
        description = "; ".join(f"{c.leaf}: {c.description}" for c in commands)
        hint = " | ".join(f"{c.leaf} {_hint(c)}".strip() for c in commands)
    if len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 1] + "…"
    entry = {
        "command": f"/{names.slack(name)}",
        "url": request_url,
        "description": names.text(description),
        "should_escape": False,
    }
    if hint:
        entry["usage_hint"] = names.text(hint)[:USAGE_LIMIT]
    return entry


def build_manifest(
    registry: CommandRegistry,
    request_url: str = "https://YOUR-HOST/slack/events",
    app_name: str = "cohortbot",
    prefix: str = "cohort-",
) -> dict:
    """The app manifest: display info, bot user, every slash command, scopes, interactivity and events.

    Commands Slack keeps for itself are registered with ``prefix`` (``/cohort-topic``; see ``names.py``).
    """
    names = SlackNames(registry.top_level_names(), prefix)
    by_name: dict[str, list[Command]] = {}
    for c in registry:
        by_name.setdefault(c.group or c.name, []).append(c)
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": app_name,
            "description": "Runs the cohort: readings, homework, sections, attendance, stipends and pairs.",
            "background_color": "#2c3e50",
        },
        "features": {
            "bot_user": {"display_name": app_name, "always_online": True},
            "slash_commands": [slash_command(n, cs, request_url, names) for n, cs in sorted(by_name.items())],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {"request_url": request_url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": request_url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
