"""Platform adapters. They translate; features live in cogs/.

Each adapter is a package here with a ``spec`` module holding ``SPEC``, a :class:`PlatformSpec`: its name, what it
can do, how its user ids look in the roster CSV, and how to build its runner. Adding a platform means adding
such a package (and its settings); the command line, the roster and the core find it here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from bot.core.platform import Capabilities, PlatformRunner

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.core.messages import Message
    from bot.settings import Settings
    from schedules.runtime import Runtime

Create = Callable[["CohortBot", "Settings", "Runtime"], PlatformRunner]
Check = Callable[["Settings"], None]


@dataclass(frozen=True)
class PlatformSpec:
    """One platform: ``create(app, settings, runtime)`` builds its runner (importing its libraries only then).

    ``check(settings)``, if given, raises :class:`bot.core.errors.StartupError` (one line: what to set) when the
    platform cannot start with these settings; ``cohortbot run`` calls it before the database is opened.
    ``roster_column`` is the roster CSV column with people's user ids there (``None``: not in the CSV), and
    ``id_pattern`` a regular expression such an id must match, described by ``id_example``.
    """

    name: str
    caps: Capabilities
    create: Create
    roster_column: str | None = None
    id_pattern: str | None = None
    id_example: str = ""
    check: Check | None = None


@cache
def platforms() -> dict[str, PlatformSpec]:
    """Every platform under ``bot/platforms/``, by name."""
    found: dict[str, PlatformSpec] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}.spec"), "SPEC", None)
        if isinstance(spec, PlatformSpec):
            found[spec.name] = spec
    return found


def roster_columns() -> dict[str, str]:
    """``{csv column: platform}`` for the platforms whose user ids the roster CSV carries."""
    return {s.roster_column: s.name for s in platforms().values() if s.roster_column}


async def preselected_ids(app: CohortBot, message: Message, platform: str) -> dict[str, str]:
    """For the people selects of ``message``: their pre-selected people (person refs, ``#12``) -> user ids on
    ``platform``."""
    wanted = {
        int(ref[1:])
        for c in message.actions
        if getattr(c, "people", False)
        for ref in c.selected
        if ref.startswith("#") and ref[1:].isdigit()
    }
    if not wanted:
        return {}
    found = await app.people.get_many(wanted)
    return {f"#{i}": uid for i, p in found.items() if (uid := p.platform_id(platform))}


async def mentioned(app: CohortBot, message: Message, platform: str) -> tuple[list[str], list[str]]:
    """For ``message.mentions``: the user ids on ``platform`` of those who linked an account there, and the names
    of the others (so nobody is silently left out), in the order given."""
    if not message.mentions:
        return [], []
    found = await app.people.get_many(message.mentions)
    ids: list[str] = []
    names: list[str] = []
    for person_id in dict.fromkeys(message.mentions):
        person = found.get(person_id)
        if person is None:
            continue
        uid = person.platform_id(platform)
        if uid:
            ids.append(uid)
        else:
            names.append(person.name)
    return ids, names


def mention_line(ids: list[str], names: list[str]) -> str:
    """``<@U1> <@U2> Name Three``: how Discord and Slack both write user mentions, then plain names."""
    return " ".join([*(f"<@{uid}>" for uid in ids), *names])
