"""Slack as a platform: what it can do, how its member ids look, what it needs to start, and how to start it."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from bot.core.errors import StartupError
from bot.core.platform import Capabilities
from bot.platforms import PlatformSpec
from bot.platforms.slack.settings import SlackSettings
from bot.settings import Settings, read_settings

if TYPE_CHECKING:
    from pydantic import SecretStr

    from bot.app import CohortBot
    from bot.core.platform import PlatformRunner
    from schedules.runtime import Runtime

CAPS = Capabilities(label="Slack", files=False, id_hint="member id")


class SlackConfigError(StartupError):
    """A required Slack setting is missing, or the HTTP port is taken."""


def secret(value: SecretStr | None) -> str:
    """The setting's value, stripped; empty if unset."""
    return value.get_secret_value().strip() if value is not None else ""


def credentials(slack: SlackSettings) -> tuple[str, str, str]:
    """``(bot token, signing secret, app token)``; :class:`SlackConfigError` (what to set) if one is missing."""
    token, signing_secret, app_token = secret(slack.bot_token), secret(slack.signing_secret), secret(slack.app_token)
    if not token:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...).")
    if not signing_secret and not app_token:
        raise SlackConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to check that requests come from Slack "
            "(or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    return token, signing_secret, app_token


def port_error(host: str, port: int, exc: OSError) -> SlackConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return SlackConfigError(
        f"cannot listen on {host}:{port}: {reason}; another program (or another cohortbot) may be using it: "
        "stop it or set COHORTBOT_HTTP_PORT to a free port"
    )


def check_port(host: str, port: int) -> None:
    """Raise :class:`SlackConfigError` if ``host:port`` cannot be listened on now (port 0: any free port)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in infos:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
                probe.bind(address)
    except OSError as exc:
        raise port_error(host, port, exc) from None


def check(settings: Settings) -> None:
    """Before the database is opened: the ``SLACK_*`` settings name the credentials, and the HTTP port is free."""
    credentials(read_settings(SlackSettings))
    check_port(settings.http_host, settings.http_port)


def create(app: CohortBot, settings: Settings, runtime: Runtime) -> PlatformRunner:
    """The Slack app, from the ``SLACK_*`` settings (HTTP or Socket Mode)."""
    from bot.platforms.slack.app import SlackPlatform

    return SlackPlatform(app, read_settings(SlackSettings), settings)


SPEC = PlatformSpec(
    name="slack",
    caps=CAPS,
    create=create,
    roster_column="slack_id",
    id_pattern=r"[UW][A-Z0-9]{6,}",
    id_example="a Slack member id (like U012AB3CD)",
    check=check,
)
