"""The Slack adapter: slash commands, Block Kit and modals on slack-bolt (see docs/slack.md).

Its classes are imported on first use, so that reading the platform's ``spec`` does not load slack-bolt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.platforms.slack.app import SlackPlatform
    from bot.platforms.slack.manifest import build_manifest
    from bot.platforms.slack.sender import SlackSender
    from bot.platforms.slack.spec import SlackConfigError

__all__ = ["SlackConfigError", "SlackPlatform", "SlackSender", "build_manifest"]
_WHERE = {
    "SlackConfigError": "bot.platforms.slack.spec",
    "SlackPlatform": "bot.platforms.slack.app",
    "SlackSender": "bot.platforms.slack.sender",
    "build_manifest": "bot.platforms.slack.manifest",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
