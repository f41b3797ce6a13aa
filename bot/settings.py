"""Typed settings, one class per area, read from the environment or a ``.env`` file at start-up.

The core's are here; each platform keeps its own beside its code (``bot/platforms/<name>/settings.py``).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import StartupError

S = TypeVar("S", bound=BaseSettings)


class Settings(BaseSettings):
    """Core settings (``COHORTBOT_*``)."""

    model_config = SettingsConfigDict(env_prefix="COHORTBOT_", env_file=".env", extra="ignore")

    db: str = "./cohortbot.db"
    # No default: a command reading the cohort without --cohort or COHORTBOT_COHORT stops and says so (a default
    # such as the example file would silently give its dates instead of the real course's).
    cohort: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    public_url: str | None = None  # where people reach the HTTP server (calendar feed links); default http://host:port
    log_level: str = "INFO"
    misfire_grace_hours: float = 6.0
    replan_minutes: float = 5.0  # how often the schedule is rebuilt from the database (new announcements...)
    # A message the outbox could not deliver within this long of its time fails for good (an outage of about
    # two days); failed messages can be re-queued with `cohortbot outbox retry` or /outbox retry:true.
    outbox_max_age_hours: float = 48.0


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
