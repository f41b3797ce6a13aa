"""Discovers the feature modules in ``cogs/`` and calls each one's ``setup(app)``."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import TYPE_CHECKING

import cogs

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)


def feature_modules() -> list[str]:
    """Importable names of every feature under ``cogs/`` (names starting with ``_`` are skipped)."""
    return sorted(
        f"{cogs.__name__}.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")
    )


def load_cogs(app: CohortBot) -> list[str]:
    """Import every feature and call its ``setup(app)``; return the loaded names."""
    loaded = []
    for name in feature_modules():
        module = importlib.import_module(name)
        setup = getattr(module, "setup", None)
        if setup is None:
            raise RuntimeError(f"feature {name} has no setup(app) function")
        setup(app)
        loaded.append(name)
    log.debug("loaded features: %s", ", ".join(loaded))
    return loaded
