"""Who is in the room: the people marked present or checked in for a section's meeting.

That is the attendance feature's to say (issue 13, ``cogs.attendance.present_at``). This lookup asks it when it
is installed and answers "nobody" when it is not, so pairing then opens a lobby with a Join button instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CohortBot


async def present_people(app: CohortBot, section: str, week: int) -> list[int]:
    """Roster ids of those present at (or checked in to) ``section``'s meeting of ``week``; ``[]`` without the
    attendance feature."""
    try:
        from cogs.attendance import present_at  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "cogs.attendance":
            raise
        return []
    return [p.id for p in await present_at(app, section, week)]
