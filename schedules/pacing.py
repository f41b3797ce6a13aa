"""Kept so that code importing ``schedules.pacing`` keeps working: pacing lives in ``bot/delivery/pacing.py`` now."""

from bot.delivery.pacing import Pacer, TokenBucket

__all__ = ["Pacer", "TokenBucket"]
