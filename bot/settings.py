"""Typed settings, one class per area, read from the environment or a ``.env`` file at start-up."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Core settings (``COHORTBOT_*``)."""

    model_config = SettingsConfigDict(env_prefix="COHORTBOT_", env_file=".env", extra="ignore")

    db: str = "./cohortbot.db"
    cohort: str = "config/example-cohort.yaml"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
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
