"""Time zone names: validation and the closest valid suggestion."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def all_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def is_zone(name: str) -> bool:
    """Whether ``name`` is a valid IANA zone (exact spelling)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file (tzdata installed)
        return False
    return True


def suggest_zone(name: str) -> str | None:
    """The closest valid zone to ``name`` (``"berlin"`` -> ``"Europe/Berlin"``), or ``None``."""
    wanted = name.strip().replace(" ", "_").casefold()
    if not wanted:
        return None
    by_fold = {z.casefold(): z for z in all_zones()}
    if wanted in by_fold:
        return by_fold[wanted]
    by_city = {z.rsplit("/", 1)[-1].casefold(): z for z in all_zones()}
    if wanted in by_city:
        return by_city[wanted]
    close = difflib.get_close_matches(wanted, list(by_fold), n=1, cutoff=0.6)
    if close:
        return by_fold[close[0]]
    close = difflib.get_close_matches(wanted, list(by_city), n=1, cutoff=0.6)
    return by_city[close[0]] if close else None


def matching_zones(prefix: str, limit: int = 25) -> list[str]:
    """Zones containing ``prefix`` (case-insensitive), best first, for autocomplete."""
    p = prefix.strip().casefold()
    zones = all_zones()
    if not p:
        return list(zones[:limit])
    starts = [z for z in zones if z.casefold().startswith(p) or z.rsplit("/", 1)[-1].casefold().startswith(p)]
    contains = [z for z in zones if p in z.casefold() and z not in starts]
    return (starts + contains)[:limit]
