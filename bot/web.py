"""The bot's own HTTP routes: features declare them once; whatever runs an HTTP server serves them.

* A feature appends :class:`WebRoute` s to ``app.web_routes`` in its ``setup`` (aiohttp handlers; e.g. the
  sections feature's calendar feed, ``GET /calendar/{token}.ics``).
* An adapter that already runs an aiohttp server (Slack: ``/slack/events`` and ``/healthz``) adds them with
  :func:`add_routes`, sets ``serves_http = True`` on its runner, and announces its address with :func:`announce`.
* For the others (Discord, the console) ``cohortbot run`` starts a small :class:`WebServer` (the routes plus
  ``/healthz``), but only when ``COHORTBOT_HTTP_PORT`` is set (:func:`wanted`): no port is opened unasked.
* ``app.web_url`` is where people reach it: ``COHORTBOT_PUBLIC_URL`` (behind a proxy or TLS terminator), else
  ``http://HOST:PORT``; ``None`` while nothing serves the routes, so features can say a link is unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.settings import Settings

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebRoute:
    """One HTTP route a feature serves: ``method`` (``GET``), an aiohttp ``path`` (``/calendar/{token}.ics``)."""

    method: str
    path: str
    handler: Handler


def add_routes(web_app: web.Application, app: CohortBot) -> None:
    """Add every route the features declared to ``web_app``."""
    for route in app.web_routes:
        web_app.router.add_route(route.method, route.path, route.handler)


def base_url(settings: Settings, port: int) -> str:
    """The address people use: ``COHORTBOT_PUBLIC_URL`` if set, else ``http://HOST:PORT``."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.http_host in ("", "0.0.0.0") else settings.http_host
    return f"http://{host}:{port}"


def announce(app: CohortBot, settings: Settings, port: int | None) -> None:
    """Record where the routes are served (``port`` ``None``: no longer served)."""
    app.web_url = base_url(settings, port) if port is not None else None


def wanted(settings: Settings) -> bool:
    """Whether ``COHORTBOT_HTTP_PORT`` was set explicitly (the default port alone opens nothing)."""
    return "http_port" in settings.model_fields_set


class WebServer:
    """A small aiohttp server for the features' routes and ``/healthz``, for platforms without their own."""

    def __init__(self, app: CohortBot, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``COHORTBOT_HTTP_HOST:COHORTBOT_HTTP_PORT`` (port 0: any free port)."""
        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        add_routes(web_app, self.app)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        announce(self.app, self.settings, self.port)
        log.info(
            "HTTP server on %s:%s (%d feature route(s))", self.settings.http_host, self.port, len(self.app.web_routes)
        )

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            announce(self.app, self.settings, None)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "platform": self.app.platform})
