"""Kept so that features importing ``bot.outbox`` keep working: the outbox lives in ``bot/delivery/`` now."""

from bot.delivery.store import NewItem, Outbox, OutboxItem

__all__ = ["NewItem", "Outbox", "OutboxItem"]
