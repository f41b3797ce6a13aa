"""The console platform: type commands as a chosen roster member, move a virtual clock, see what is posted.

Its classes are imported on first use (see ``repl.py``), so that reading the platform's ``spec`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.platforms.console.repl import ConsolePlatform, ConsoleSender

__all__ = ["ConsolePlatform", "ConsoleSender"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bot.platforms.console import repl

        return getattr(repl, name)
    raise AttributeError(name)
