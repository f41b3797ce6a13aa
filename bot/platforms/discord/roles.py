"""Server roles in step with the roster: the Discord side of the ``member_sync`` outbox task.

The task names a roster person and the account it is for. When it runs, the roles that account should have are
worked out again from the roster as it is now (:func:`bot.membership.wanted`; nothing if the person was removed
or linked another account since), compared with the member's roles as Discord has them (``GET
/guilds/{g}/members/{u}``), and only the difference is sent: ``PUT`` / ``DELETE
/guilds/{g}/members/{u}/roles/{r}``. So running a task twice, late, or after a newer one changes nothing more.

* A role the rules name that the server lacks is created once (``POST /guilds/{g}/roles``, no permissions).
* Roles the cohort file's ``discord:`` section maps to bot roles (``Organizers``, ``Facilitators``) are only ever
  added, never taken away: server admins hand those out too.
* A missing permission (403, code 50013) is logged once, with what to grant; the task fails (visible in
  ``/outbox``). A person who is not in the server (404, code 10007) fails too, with that reason.
* One task per member at a time (a lock), so two tasks for the same person cannot both add a role.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import discord

from bot.core.platform import NOT_MEMBER, PermanentSendError
from bot.membership import managed_roles, wanted

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
MISSING_PERMISSIONS = 50013
UNKNOWN_MEMBER = 10007
REASON = "cohortbot: roster sync"


class MemberRoles:
    """Does ``member_sync`` tasks for one server."""

    def __init__(self, app: CohortBot, client: discord.Client, guild_id: int) -> None:
        self.app = app
        self.client = client
        self.guild_id = guild_id
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._roles: dict[str, int] | None = None  # role name (case-folded) -> id
        self._roles_lock = asyncio.Lock()
        self._warned: set[str] = set()

    async def sync(self, data: dict[str, Any]) -> str:
        """Give the task's account the roles the roster says, take away the managed ones it should not have."""
        user_id = str(data["user_id"])
        person = await self.app.people.get(int(data["person_id"]))
        current = person.platform_id("discord") if person is not None else None
        should = wanted(self.app.cohort, person).roles if current == user_id else frozenset()
        mapping = self.app.cohort.discord
        granting = {r.casefold() for r in (*mapping.organizer_roles, *mapping.facilitator_roles)}
        removable = {r for r in managed_roles(self.app.cohort) - should if r.casefold() not in granting}
        async with self._locks[user_id]:
            member = await self._call("read the member", self.client.http.get_member(self.guild_id, user_id))
            has = {int(r) for r in member.get("roles", [])}
            ids = await self.role_ids(should, create=True)
            known = await self.role_ids(removable, create=False)
            add = sorted(ids[n.casefold()] for n in should if ids[n.casefold()] not in has)
            drop = sorted(known[n] for n in (r.casefold() for r in removable) if n in known and known[n] in has)
            http = self.client.http
            for role_id in add:
                await self._call("add a role", http.add_role(self.guild_id, user_id, role_id, reason=REASON))
            for role_id in drop:
                await self._call("remove a role", http.remove_role(self.guild_id, user_id, role_id, reason=REASON))
        return f"roles +{len(add)} -{len(drop)}"

    async def role_ids(self, names: frozenset[str] | set[str], *, create: bool) -> dict[str, int]:
        """``name (case-folded) -> id`` for ``names``; with ``create``, roles the server lacks are made."""
        async with self._roles_lock:
            if self._roles is None or any(n.casefold() not in self._roles for n in names):
                roles = await self._call("list the server's roles", self.client.http.get_roles(self.guild_id))
                self._roles = {str(r["name"]).casefold(): int(r["id"]) for r in roles}
            if create:
                for name in sorted(names):
                    if name.casefold() not in self._roles:
                        made = await self._call(
                            "create a role",
                            self.client.http.create_role(self.guild_id, reason=REASON, name=name, permissions="0"),
                        )
                        self._roles[name.casefold()] = int(made["id"])
                        log.info("Discord: created the server role %r for the roster sync", name)
            return {n.casefold(): self._roles[n.casefold()] for n in names if n.casefold() in self._roles}

    async def _call(self, what: str, request: Any) -> Any:
        """Await a REST request; a missing permission is logged once with what to grant, an unknown member named."""
        try:
            return await request
        except discord.HTTPException as exc:
            if exc.code == MISSING_PERMISSIONS or exc.status == 403:
                self._warn_once(
                    "permissions",
                    "Discord: the bot may not manage roles (it tried to %s): give its role the Manage Roles "
                    "permission and drag it above the roles it hands out (Server Settings -> Roles): %s",
                    what,
                    ", ".join(sorted(managed_roles(self.app.cohort))) or "none",
                )
                raise PermanentSendError(
                    f"Discord refused to {what} (missing Manage Roles, or the bot's role is below the role): {exc.text}"
                ) from exc
            if exc.code == UNKNOWN_MEMBER:
                not_yet = "this account is not a member of the Discord server (yet)"
                raise PermanentSendError(not_yet, NOT_MEMBER) from exc
            raise

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.error(message, *args)
