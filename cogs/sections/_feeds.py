"""Private calendar subscription links: ``GET /calendar/<token>.ics`` serves one person's calendar.

The token is 256 random bits (``secrets.token_urlsafe(32)``), shown only to its owner by ``/schedule feed:link``.
``feed:new`` replaces it (the old link stops working at once); ``feed:revoke`` turns it off, for oneself or, for
organizers, for anyone. A wrong, malformed or revoked token gets the same 404, so a link reveals nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from bot.core.clock import from_db, to_db
from bot.web import WebRoute
from cogs.sections._calendar import build_calendar

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
FEED_PATH = "/calendar/{token}.ics"
NOT_FOUND = "This calendar link is unknown or was revoked. Ask the bot for a new one: /schedule feed:link\n"


@dataclass(frozen=True)
class Feed:
    """A person's calendar link."""

    person_id: int
    token: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def live(self) -> bool:
        """Whether the link works."""
        return self.revoked_at is None


class Feeds:
    """The ``calendar_feeds`` table."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app

    async def of(self, person_id: int) -> Feed | None:
        """The person's link (live or revoked), if they ever had one."""
        row = await self.app.db.fetchone("SELECT * FROM calendar_feeds WHERE person_id = ?", (person_id,))
        return _feed(row) if row else None

    async def live(self, token: str) -> Feed | None:
        """The live link with this token."""
        if not TOKEN_RE.match(token):
            return None
        row = await self.app.db.fetchone(
            "SELECT * FROM calendar_feeds WHERE token = ? AND revoked_at IS NULL", (token,)
        )
        if row is None or not secrets.compare_digest(row["token"], token):
            return None
        return _feed(row)

    async def issue(self, person_id: int, *, replace: bool) -> Feed:
        """The person's live link: the existing one, or a new one (always new with ``replace``)."""
        current = await self.of(person_id)
        if current is not None and current.live and not replace:
            return current
        now = self.app.clock.now()
        token = secrets.token_urlsafe(32)
        await self.app.db.execute(
            "INSERT INTO calendar_feeds (person_id, token, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at,"
            " revoked_at = NULL, revoked_by = NULL",
            (person_id, token, to_db(now)),
        )
        return Feed(person_id, token, now, None)

    async def revoke(self, person_id: int, by: int | None) -> bool:
        """Turn the person's link off; ``False`` if they had no live one."""
        cur = await self.app.db.execute(
            "UPDATE calendar_feeds SET revoked_at = ?, revoked_by = ? WHERE person_id = ? AND revoked_at IS NULL",
            (to_db(self.app.clock.now()), by, person_id),
        )
        return bool(cur.rowcount)


def feed_url(app: CohortBot, feed: Feed) -> str | None:
    """The link's URL, if the bot's HTTP server is running (``None`` otherwise)."""
    return f"{app.web_url}/calendar/{feed.token}.ics" if app.web_url else None


def _feed(row) -> Feed:  # noqa: ANN001 - aiosqlite.Row
    return Feed(
        person_id=row["person_id"],
        token=row["token"],
        created_at=from_db(row["created_at"]),
        revoked_at=from_db(row["revoked_at"]) if row["revoked_at"] else None,
    )


def feed_route(app: CohortBot) -> WebRoute:
    """``GET /calendar/{token}.ics``: the owner's calendar, or 404 for a wrong or revoked token."""

    async def serve(request: web.Request) -> web.Response:
        feed = await Feeds(app).live(request.match_info.get("token", ""))
        person = await app.people.get(feed.person_id) if feed else None
        if person is None:
            return web.Response(status=404, text=NOT_FOUND, content_type="text/plain")
        cal = await build_calendar(app, person)
        return web.Response(
            body=cal.to_ical(),
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    return WebRoute("GET", FEED_PATH, serve)
