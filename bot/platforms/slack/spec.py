"""Slack as a platform: what it can do, how its member ids look, and how to start it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.platform import Capabilities
from bot.platforms import PlatformSpec

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.core.platform import PlatformRunner
    from bot.settings import Settings
    from schedules.runtime import Runtime

CAPS = Capabilities(label="Slack", files=False, id_hint="member id")


def create(app: CohortBot, settings: Settings, runtime: Runtime) -> PlatformRunner:
    """The Slack app, from the ``SLACK_*`` settings (HTTP or Socket Mode)."""
    from bot.platforms.slack.app import SlackPlatform
    from bot.settings import SlackSettings

    return SlackPlatform(app, SlackSettings(), settings)


SPEC = PlatformSpec(
    name="slack",
    caps=CAPS,
    create=create,
    roster_column="slack_id",
    id_pattern=r"[UW][A-Z0-9]{6,}",
    id_example="a Slack member id (like U012AB3CD)",
)
