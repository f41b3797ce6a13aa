"""The Slack adapter: slash commands, Block Kit and modals on slack-bolt (see docs/slack.md)."""

from bot.platforms.slack.app import SlackConfigError, SlackPlatform
from bot.platforms.slack.manifest import build_manifest
from bot.platforms.slack.sender import SlackSender

__all__ = ["SlackConfigError", "SlackPlatform", "SlackSender", "build_manifest"]
