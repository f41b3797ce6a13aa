"""The one place every command passes through: who is asking, may they, parse, run, answer.

Order of error handling (documented, as the platforms rely on it):

1. unknown command -> private "unknown command, try /help";
2. person not on the roster (after the app's identifiers had a go at linking an unknown account, see
   :meth:`bot.app.CohortBot.identify`) -> private refusal saying how to join, unless the command is open to
   ``anyone`` (it then runs with a guest context); a person removed from the roster -> private refusal saying so;
3. role too low -> private refusal naming the role needed and the person's role;
4. bad option -> private message saying what was wrong, plus the command's usage;
5. :class:`UserError` raised by the handler -> its message, privately; the handler changed nothing;
6. anything else -> logged with a short error id; the user gets a short apology with that id, never a traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.commands import Choice, Command
from bot.core.context import Actor, Context, Place
from bot.core.errors import NotOnRoster, OptionError, PermissionDenied, UserError
from bot.core.messages import Message, Reply, clip, excerpt, read_action_id, timestamp
from bot.core.options import parse_option, suggestions
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import article

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
MAX_REFUSAL = 1500
ROLE_NAMES = {Role.SCHOLAR: "scholars", Role.FACILITATOR: "facilitators", Role.ORGANIZER: "organizers"}


class Dispatcher:
    """Runs commands for any platform."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app

    async def context(
        self, actor: Actor, place: Place | None = None, command: Command | None = None, *, clicked: bool = False
    ) -> Context:
        """The context for ``actor``; raise :class:`NotOnRoster` if they are unknown or removed.

        An account the roster does not know is offered to the app's identifiers first (they may link it, e.g. by
        the account's email). Someone still unknown gets a guest context for a command open to ``anyone``.
        Their role is the higher of their roster role and any role their platform grants (``actor.granted_role``).
        """
        if actor.person_id is not None:
            person = await self.app.people.get(actor.person_id)
        else:
            person = await self.app.people.by_platform(actor.platform, actor.user_id)
            if person is None:
                person = await self.app.identify(actor.platform, actor.user_id)
        if person is not None and person.removed:
            raise NotOnRoster(self.removed_message(actor))
        if person is None:
            if command is None or not command.anyone:
                raise NotOnRoster(self.join_message(actor))
            return Context(
                app=self.app,
                actor=actor,
                person=Person.guest(actor.display_name),
                role=Role.SCHOLAR,
                place=place or Place(),
                now=self.app.clock.now(),
                command=command,
                clicked=clicked,
                guest=True,
            )
        role = person.role if actor.granted_role is None else max(person.role, actor.granted_role)
        return Context(
            app=self.app,
            actor=actor,
            person=person,
            role=role,
            place=place or Place(),
            now=self.app.clock.now(),
            command=command,
            clicked=clicked,
        )

    def join_message(self, actor: Actor) -> str:
        """The polite refusal for someone not on the roster, saying how to join.

        If a command open to anyone is called ``join`` (the roster feature's), it is named with its usage; the
        cohort file's ``contact`` follows, and the asker's account id (what organizers need to link it by hand).
        """
        hello = f"Hi{' ' + actor.display_name if actor.display_name else ''}!"
        text = (
            f"{hello} You're not on the roster of {self.app.cohort.program} yet (or this account is not linked to "
            "your place on it), so I can't help you here."
        )
        join = self.app.registry.get("join")
        if join is not None and join.anyone and not join.hidden:
            text += f" To link it, run `{join.usage_for(actor.caps)}`: {join.description}"
        return f"{text} {self.app.cohort.contact} (Your {actor.caps.label} {actor.caps.id_hint}: {actor.user_id}.)"

    def removed_message(self, actor: Actor) -> str:
        """The refusal for someone an organizer took off the roster."""
        return (
            f"Sorry{' ' + actor.display_name if actor.display_name else ''}: you are no longer on the roster of "
            f"{self.app.cohort.program}, so I can't help you here. If you think this is a mistake: "
            f"{self.app.cohort.contact}"
        )

    async def dispatch(
        self,
        actor: Actor,
        name: str,
        options: Mapping[str, Any] | None = None,
        place: Place | None = None,
        *,
        clicked: bool = False,
    ) -> Reply:
        """Run ``/name`` for ``actor`` with raw ``options``; always returns a :class:`Reply`, never raises.

        ``clicked``: run by a button or select (only those may run hidden commands).
        """
        command = self.app.registry.get(name)
        if command is not None and command.hidden and not clicked:
            command = None
        ctx: Context | None = None
        try:
            if command is None:
                raise UserError(f"I don't know the command /{clip(str(name).lstrip('/'), 60)}. Try /help.")
            ctx = await self.context(actor, place, command, clicked=clicked)
            self.check_role(ctx, command)
            parsed = await self.parse(ctx, command, options or {})
            result = await command.handler(ctx, **parsed)
            if result is not None and not isinstance(result, str | Reply):
                raise TypeError(f"/{command.name} returned {type(result).__name__}, not a Reply, str or None")
        except OptionError as exc:
            usage = command.usage_for(actor.caps) if command else ""
            reply = error_reply(f"{exc.message}\nUsage: `{usage}`", exc.field)
        except UserError as exc:
            reply = error_reply(exc.message, exc.field)
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("error %s in /%s for %s:%s", error_id, name, actor.platform, actor.user_id)
            reply = error_reply(
                f"Sorry, something went wrong on my side while running /{name.lstrip('/')}. Nothing was changed "
                f"that I know of; please try again, and if it keeps happening tell an organizer (error {error_id})."
            )
        else:
            if result is None:
                reply = Reply.text("Done.", private=command.private)
            elif isinstance(result, str):
                reply = Reply.text(result, private=command.private)
            else:
                reply = result
        if ctx is not None and reply.zone is None:
            reply.zone = ctx.zone.key
        return reply

    async def click(
        self, actor: Actor, action: str, values: Sequence[str] | None = None, place: Place | None = None
    ) -> Reply:
        """Run what a clicked button or a changed select carries (``action`` is its id), as ``actor``.

        The clicker's role and sections are checked as for a typed command. A select's chosen ``values`` go into
        the option it names. An id that is not ours, or a control past its expiry, gets a clear private answer.
        """
        clicked = read_action_id(action)
        if clicked is None:
            return error_reply(
                "That button or menu is not one I know (it may come from an older version). Run the command again."
            )
        if clicked.expires is not None and self.app.clock.now() >= clicked.expires:
            command = self.app.registry.get(clicked.command)
            again = f"Run /{command.name} again" if command and not command.hidden else "Ask for a new one"
            return error_reply(f"That has expired (at {timestamp(clicked.expires)}). {again} if you still need it.")
        options: dict[str, Any] = dict(clicked.options)
        if clicked.into:
            options[clicked.into] = list(values or [])
        return await self.dispatch(actor, clicked.command, options, place, clicked=True)

    def check_role(self, ctx: Context, command: Command) -> None:
        """Raise :class:`PermissionDenied` if ``ctx.role`` is below the command's minimum."""
        if command.min_role is not None and ctx.role < command.min_role:
            allowed = " and ".join(ROLE_NAMES[r] for r in Role if r >= command.min_role)
            what = "That button" if ctx.clicked else f"/{command.name}"
            raise PermissionDenied(f"{what} is only for {allowed}; you are {article(ctx.role.label)}.")

    async def parse(self, ctx: Context, command: Command, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Parse every given option, reject unknown ones, and insist on the required ones."""
        out: dict[str, Any] = {}
        for key, value in raw.items():
            option = command.option(key)
            if option is None:
                known = ", ".join(o.name for o in command.options) or "none"
                shown = excerpt(key)  # a key may be anything (not only text) and of any length
                raise OptionError(f"/{command.name} has no option {shown} (options: {known}).", field=str(key)[:100])
            if value is None:
                continue
            out[option.name] = await parse_option(ctx, option, value)
        missing = [o.name for o in command.options if o.required and o.name not in out]
        if missing:
            raise OptionError(f"/{command.name} needs {', '.join(missing)}.", field=missing[0])
        return out

    async def complete(self, actor: Actor, name: str, option_name: str, current: str) -> list[Choice]:
        """Autocomplete suggestions; unknown people and options get none (never an error)."""
        command = self.app.registry.get(name)
        option = command.option(option_name) if command else None
        if command is None or option is None:
            return []
        try:
            ctx = await self.context(actor, command=command)
            return await suggestions(ctx, option, current)
        except UserError:
            return []
        except Exception:
            log.exception("autocomplete failed for /%s %s", name, option_name)
            return []


def error_reply(text: str, field: str | None = None) -> Reply:
    """A private reply for a refusal or bad input (at most :data:`MAX_REFUSAL` characters, whatever was typed)."""
    text = clip(text, MAX_REFUSAL)
    return Reply(message=Message(text=f"⚠️ {text}"), private=True, error=text, error_field=field)
