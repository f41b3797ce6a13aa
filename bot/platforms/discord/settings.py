"""Discord settings (``DISCORD_*``), read from the environment or a ``.env`` file at start-up."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DiscordSettings(BaseSettings):
    """Discord settings (``DISCORD_*``); the URLs can point at a local fake."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore")

    token: SecretStr | None = None
    guild_id: int | None = None
    api_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    rate_per_second: float = 49.0
