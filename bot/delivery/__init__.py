"""Delivery: everything the bot sends on its own, sent once, paced, and surviving crashes and outages.

* ``store.py``: the ``outbox`` table and its state machine (``app.outbox``: ``enqueue``, ``enqueue_many``, ...).
* ``worker.py``: the worker that claims due rows and sends them through ``app.senders``.
* ``pacing.py``: per-platform and per-channel pacing (real time).
* ``health.py``: platform-wide health: pause a failing platform, probe it, resume.

See docs/delivery.md.
"""

from bot.delivery.health import PlatformHealth
from bot.delivery.pacing import Pacer, TokenBucket
from bot.delivery.store import NewItem, Outbox, OutboxItem, decode_target, encode_target, skip_statement
from bot.delivery.worker import OutboxWorker

__all__ = [
    "NewItem",
    "Outbox",
    "OutboxItem",
    "OutboxWorker",
    "Pacer",
    "PlatformHealth",
    "TokenBucket",
    "decode_target",
    "encode_target",
    "skip_statement",
]
