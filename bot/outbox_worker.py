"""Kept so that code importing ``bot.outbox_worker`` keeps working: the worker lives in ``bot/delivery/`` now."""

from bot.delivery.worker import OutboxWorker

__all__ = ["OutboxWorker"]
