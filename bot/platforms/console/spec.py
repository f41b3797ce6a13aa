"""The console platform: type commands as a chosen roster member (the demo, and `cohortbot run --platform console`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.platform import Capabilities
from bot.platforms import PlatformSpec

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.core.platform import PlatformRunner
    from bot.settings import Settings
    from schedules.runtime import Runtime

CAPS = Capabilities(label="console", files=False, id_hint="name")


def create(app: CohortBot, settings: Settings, runtime: Runtime) -> PlatformRunner:
    """A console on standard input and output."""
    from bot.platforms.console.repl import ConsolePlatform

    return ConsolePlatform(app, runtime=runtime)


SPEC = PlatformSpec(name="console", caps=CAPS, create=create)
