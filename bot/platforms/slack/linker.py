"""Slack's directory for the core's linking by email (``app.linkers["slack"]``, see :class:`bot.core.platform.Linker`).

* ``users.lookupByEmail`` (needs the ``users:read.email`` scope) finds the member with an email; ``users.info``
  reads a member's email (for someone who runs a command before they were linked).
* Both are Web API Tier 3 methods (about 50 calls a minute): calls are spaced by a token bucket at
  ``SLACK_LOOKUP_PER_MINUTE`` (default 50), and a 429 pauses the bucket for Slack's ``Retry-After`` before the
  call is tried again (up to :data:`MAX_RETRIES` times).
* :meth:`SlackLinker.directory` reads every member's email with ``users.list`` (Tier 2, about 20 calls a minute,
  paced by a bucket of its own; with ``users:read.email`` each member's profile carries the email), a page of
  :data:`DIRECTORY_PAGE` members per call: the whole roster is linked with ~20 calls for 20,000 people, where a
  lookup each would take ~400 minutes at Tier 3. Without the email scope Slack leaves the emails out without an
  error; a member list without a single email is taken for that (a :class:`LinkError` saying what to grant).
* ``users_not_found`` / ``user_not_found`` mean "nobody"; deactivated members and bots count as nobody too.
* A missing scope or a bad token raises :class:`LinkError` with what to do (the run stops; nothing is linked
  wrongly).

It has its own ``AsyncWebClient`` without slack-sdk's rate-limit retry handler, so that it sees every 429 and waits
exactly as long as Slack asks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.platform import LinkError
from bot.delivery.pacing import TokenBucket
from bot.platforms.slack.sender import _retry_after

log = logging.getLogger(__name__)
MAX_RETRIES = 5
DIRECTORY_PAGE = 1000  # members per users.list call
DIRECTORY_PER_MINUTE = 20.0  # users.list is Tier 2 (20+ a minute)
NOT_FOUND = {"users_not_found", "user_not_found"}
FATAL = {"missing_scope", "not_allowed_token_type", "invalid_auth", "account_inactive", "token_revoked"}


class _NotFound(Exception):
    pass


class SlackLinker:
    """Looks Slack members up by email, paced to Tier 3 and honouring 429s."""

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        per_minute: float = 50.0,
        max_retries: int = MAX_RETRIES,
        list_per_minute: float = DIRECTORY_PER_MINUTE,
        page: int = DIRECTORY_PAGE,
    ) -> None:
        self.client = client
        self.bucket = TokenBucket(per_minute / 60.0)
        self.list_bucket = TokenBucket(list_per_minute / 60.0)
        self.page = page
        self.max_retries = max_retries
        self.waited = 0.0  # seconds spent waiting out 429s
        self.calls = 0

    async def find_by_email(self, email: str) -> str | None:
        """The id of the active, human member with ``email``, or ``None``."""
        user = await self._user("users.lookupByEmail", lambda: self.client.users_lookupByEmail(email=email))
        return user.get("id") if user else None

    async def email_of(self, user_id: str) -> str | None:
        """The email of member ``user_id`` (``None`` for a bot, a deactivated member, or none visible)."""
        user = await self._user("users.info", lambda: self.client.users_info(user=user_id))
        return ((user.get("profile") or {}).get("email") or None) if user else None

    async def directory(self) -> dict[str, str]:
        """``email (case-folded) -> user id`` of every active, human member (``users.list``, a page per call)."""
        found: dict[str, str] = {}
        humans = 0
        cursor: str | None = None
        while True:
            answer = await self._call(
                "users.list",
                lambda cursor=cursor: self.client.users_list(limit=self.page, cursor=cursor),
                self.list_bucket,
            )
            for user in answer.get("members") or []:
                if _inactive(user):
                    continue
                humans += 1
                email = (user.get("profile") or {}).get("email")
                if email:
                    found[str(email).casefold()] = str(user["id"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        if humans and not found:
            raise LinkError(
                "Slack's users.list shows no member's email: give the app the users:read.email scope "
                "(cohortbot slack-manifest) and reinstall it"
            )
        return found

    async def _user(self, method: str, make: Callable[[], Awaitable[Any]]) -> dict | None:
        """The user a lookup answers with, or ``None`` if there is none (or not an active human)."""
        try:
            answer = await self._call(method, make)
        except _NotFound:
            return None
        user = answer.get("user") or {}
        return None if _inactive(user) else user

    async def _call(self, method: str, make: Callable[[], Awaitable[Any]], bucket: TokenBucket | None = None) -> Any:
        bucket = bucket or self.bucket
        for _ in range(self.max_retries + 1):
            await bucket.acquire()
            self.calls += 1
            try:
                return await make()
            except SlackApiError as exc:
                response = exc.response
                error = str(response.get("error", "")) if response is not None else ""
                status = getattr(response, "status_code", 200) or 200
                if error in NOT_FOUND:
                    raise _NotFound from None
                if status == 429 or error == "ratelimited":
                    wait = _retry_after(exc) or 1.0
                    log.info("Slack %s is rate limited: waiting %.0f s as Slack asks", method, wait)
                    bucket.pause(wait)
                    self.waited += wait
                    continue
                if error in FATAL:
                    needed = response.get("needed") if response is not None else None
                    raise LinkError(
                        f"Slack refused {method} ({error}{f', needs {needed}' if needed else ''}): give the app the "
                        "users:read and users:read.email scopes (cohortbot slack-manifest) and reinstall it"
                    ) from None
                raise LinkError(f"Slack {method} failed: {error or f'HTTP {status}'}") from None
            except (OSError, TimeoutError) as exc:
                raise LinkError(f"could not reach Slack for {method}: {exc}") from None
        raise LinkError(f"Slack kept rate-limiting {method} ({self.max_retries} retries); trying again later")


def _inactive(user: dict) -> bool:
    return bool(user.get("deleted") or user.get("is_bot") or user.get("id") == "USLACKBOT")
