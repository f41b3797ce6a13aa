"""Ordered permission tiers: scholar < facilitator < organizer."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """A person's role on the roster; a higher tier may do everything a lower one may."""

    SCHOLAR = 1
    FACILITATOR = 2
    ORGANIZER = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        """Parse ``scholar``/``facilitator``/``organizer`` (any case); raise ``ValueError`` otherwise."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r} (expected scholar, facilitator or organizer)") from None

    @property
    def label(self) -> str:
        """Lower-case name as written in files and messages."""
        return self.name.lower()
