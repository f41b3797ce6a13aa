"""Typed settings, one class per area, read from the environment or a ``.env`` file at start-up."""

from __future__ import annotations

from typing import TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import StartupError

S = TypeVar("S", bound=BaseSettings)


class Settings(BaseSettings):
    """Core settings (``COHORTBOT_*``)."""

    model_config = SettingsConfigDict(env_prefix="COHORTBOT_", env_file=".env", extra="ignore")

    db: str = "./cohortbot.db"
    cohort: str = "config/example-cohort.yaml"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    public_url: str | None = None  # where people reach the HTTP server (calendar feed links); default http://host:port
    log_level: str = "INFO"
    misfire_grace_hours: float = 6.0
    # A message the outbox could not deliver within this long of its time fails for good (an outage of about
    # two days); failed messages can be re-queued with `cohortbot outbox retry` or /outbox retry:true.
    outbox_max_age_hours: float = 48.0


class DiscordSettings(BaseSettings):
    """Discord settings (``DISCORD_*``); the URLs can point at a local fake."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore")

    token: SecretStr | None = None
    guild_id: int | None = None
    api_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    rate_per_second: float = 49.0


class SlackSettings(BaseSettings):
    """Slack settings (``SLACK_*``); the Web API base can point at a local fake."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    # chat.postMessage: about 1 message a second per channel (each DM is a channel), under a workspace-wide limit
    # Slack does not publish ("several hundred a minute"); the workspace rate also drops after a 429 and climbs back.
    rate_per_second: float = 8.0
    channel_rate_per_second: float = 1.0
    lookup_per_minute: float = 50.0  # users.lookupByEmail / users.info (Tier 3) when linking people by email
    command_prefix: str = "cohort-"  # for commands whose names Slack keeps for itself (/topic -> /cohort-topic)


def read_settings(cls: type[S]) -> S:
    """``cls()`` from the environment; a bad value raises :class:`StartupError` naming the variable, in one line.

    The value itself is not echoed: it may be a token.
    """
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = [f"{prefix}{str(e['loc'][0]).upper() if e['loc'] else '?'}: {e['msg']}" for e in exc.errors()]
        raise StartupError("; ".join(problems)) from None
