"""Slack settings (``SLACK_*``), read from the environment or a ``.env`` file at start-up."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    list_per_minute: float = 20.0  # users.list (Tier 2) when linking many people by email at once
    command_prefix: str = "cohort-"  # for commands whose names Slack keeps for itself (/topic -> /cohort-topic)
