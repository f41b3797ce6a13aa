"""An in-process sender that records what it was asked to send (and, like Discord's nonce, dedupes by key)."""

from __future__ import annotations

from collections import Counter

from bot.core.messages import Message
from bot.core.platform import Target


class RecordingSender:
    """Remembers every delivery; ``calls`` counts attempts per key, ``delivered`` keeps the first of each."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.calls: Counter[str] = Counter()
        self.delivered: dict[str, tuple[Target, Message]] = {}
        self.order: list[str] = []

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        self.calls[key] += 1
        if key not in self.delivered:
            self.delivered[key] = (target, message)
            self.order.append(key)
        return f"msg-{len(self.order)}"

    def posts(self) -> dict[str, tuple[Target, Message]]:
        """Only the weekly posts."""
        return {k: v for k, v in self.delivered.items() if k.startswith("post:")}
