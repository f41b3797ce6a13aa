"""Kept so that features importing ``bot.outbox`` keep working: the outbox lives in ``bot/delivery/`` now."""

from bot.delivery.store import NewItem, Outbox, OutboxItem, decode_target, encode_payload, encode_target

__all__ = ["NewItem", "Outbox", "OutboxItem", "decode_target", "encode_payload", "encode_target"]
