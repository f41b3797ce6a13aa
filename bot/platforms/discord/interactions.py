"""Running a command for a Discord interaction and answering it: translation only, no feature logic.

Discord wants an answer within 3 seconds. A command declared ``slow`` is acknowledged (deferred) at once;
any other is given ``defer_after`` seconds to answer and deferred if it has not, then answered with a
followup. Anything raised by this translation code is logged and answered with a short apology.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import discord

from bot.cohort import DiscordRoles
from bot.core.commands import Choice, Command, Option
from bot.core.context import Actor, Place
from bot.core.messages import Attachment, Form, Message, Reply
from bot.core.roles import Role
from bot.platforms import preselected_ids
from bot.platforms.discord.components import build_view, chosen_values
from bot.platforms.discord.render import FormModal, render
from bot.platforms.discord.spec import CAPS

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
APOLOGY = "⚠️ Sorry, something went wrong on my side. Please try again, and tell an organizer if it keeps happening."
DEFER_AFTER = 2.0
# Interactions Discord lets us answer with a modal (not a modal submission, nor a deferred one).
MODAL_FROM = (discord.InteractionType.application_command, discord.InteractionType.component)


def granted_role(roles: DiscordRoles, names: Iterable[str]) -> Role | None:
    """The bot role that server roles called ``names`` grant under the cohort file's ``discord:`` mapping."""
    held = {n.casefold() for n in names}
    if held & {r.casefold() for r in roles.organizer_roles}:
        return Role.ORGANIZER
    if held & {r.casefold() for r in roles.facilitator_roles}:
        return Role.FACILITATOR
    return None


def actor_of(interaction: discord.Interaction, mapping: DiscordRoles | None = None) -> Actor:
    """The core's view of who is asking; their server roles grant a bot role through ``mapping``."""
    user = interaction.user
    roles = getattr(user, "roles", None) or []
    names = [r.name for r in roles if not r.is_default()]
    granted = granted_role(mapping, names) if mapping is not None else None
    return Actor("discord", str(user.id), user.display_name, granted_role=granted, caps=CAPS)


def place_of(interaction: discord.Interaction) -> Place:
    """Where the interaction happened."""
    channel = interaction.channel
    return Place(
        channel_id=str(interaction.channel_id) if interaction.channel_id else None,
        channel_name=getattr(channel, "name", None),
        is_dm=interaction.guild_id is None,
    )


class InteractionHandler:
    """Dispatches commands, autocomplete and form submissions to the core and renders the replies."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app
        self.defer_after = DEFER_AFTER

    def actor(self, interaction: discord.Interaction) -> Actor:
        """Who is acting, with the role their server roles grant under the current cohort file."""
        return actor_of(interaction, self.app.cohort.discord)

    # ---- entry points (called by discord.py) ------------------------------------------------------------------
    async def invoke(self, interaction: discord.Interaction, command: Command, values: dict[str, Any]) -> None:
        """A slash command was run."""

        async def run() -> Reply:
            options = {k: await self._option_value(v) for k, v in values.items() if v is not None}
            return await self.app.dispatch(self.actor(interaction), command.name, options, place_of(interaction))

        await self._run(interaction, run, private=command.private, slow=command.slow, name=command.name)

    async def click(self, interaction: discord.Interaction) -> None:
        """A button or select of ours was used: run its action as the clicker, then answer."""
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        custom_id = str(data.get("custom_id", ""))

        async def run() -> Reply:
            return await self.app.dispatcher.click(
                self.actor(interaction), custom_id, chosen_values(interaction), place_of(interaction)
            )

        await self._run(interaction, run, private=True, slow=False, name=custom_id, component=True)

    async def complete(
        self, interaction: discord.Interaction, command: Command, option: Option, current: str
    ) -> list[Choice]:
        """Autocomplete suggestions from the core (never an error)."""
        try:
            return await self.app.dispatcher.complete(self.actor(interaction), command.name, option.name, current)
        except Exception:
            log.exception("autocomplete for /%s %s failed in the adapter", command.name, option.name)
            return []

    async def submit_form(self, interaction: discord.Interaction, form: Form, values: dict[str, str]) -> None:
        """A modal was submitted: run ``form.command`` with the fixed values and the fields."""
        command = self.app.registry.get(form.command)
        private = command.private if command else True

        async def run() -> Reply:
            filled = {k: v for k, v in values.items() if v.strip()}  # an empty optional field was not given
            options = {**form.fixed, **filled}
            return await self.app.dispatch(self.actor(interaction), form.command, options, place_of(interaction))

        await self._run(interaction, run, private=private, slow=bool(command and command.slow), name=form.command)

    # ---- answering ----------------------------------------------------------------------------------------------
    async def _run(
        self,
        interaction: discord.Interaction,
        run: Callable[[], Awaitable[Reply]],
        *,
        private: bool,
        slow: bool,
        name: str,
        component: bool = False,
    ) -> None:
        """Run ``run`` and answer, deferring when slow or late; apologise for anything raised here.

        A click (``component``) is deferred without a "thinking" message, so that its answer may still replace
        the clicked message or come as a new private one.
        """
        deferred = False
        try:
            task = asyncio.ensure_future(run())
            if not slow:
                await asyncio.wait({task}, timeout=self.defer_after)
            if not task.done():
                if component:
                    await interaction.response.defer()
                else:
                    await interaction.response.defer(ephemeral=private, thinking=True)
                deferred = True
            reply = await task
            await self.answer(interaction, reply, deferred=deferred)
        except Exception:
            log.exception("the Discord adapter failed while answering /%s", name)
            await self.apologise(interaction)

    async def answer(self, interaction: discord.Interaction, reply: Reply, *, deferred: bool) -> None:
        """Render ``reply`` as the interaction's response (or followups after a defer)."""
        if reply.form is not None:
            if not deferred and interaction.type in MODAL_FROM:
                form = reply.form

                async def submitted(modal_interaction: discord.Interaction, values: dict[str, str]) -> None:
                    await self.submit_form(modal_interaction, form, values)

                await interaction.response.send_modal(FormModal(form, submitted))
                return
            # A modal cannot be opened after a defer or from another modal: say what is missing instead.
            fields = ", ".join(f.label for f in reply.form.fields)
            intro = f"{reply.form.intro}\n" if reply.form.intro else ""
            reply = Reply.text(f"{intro}Please run /{reply.form.command} again with: {fields}.", private=True)
        message = reply.message or Message(text="Done.")
        parts = render(message, reply.zone_or(self.app.cohort.zone))
        view = build_view(message.actions, await preselected_ids(self.app, message, "discord"))
        clicked = interaction.type is discord.InteractionType.component
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            kwargs: dict[str, Any] = {"embeds": part.embeds}
            if last and view is not None:
                kwargs["view"] = view
            if n == 0 and clicked and reply.replace:  # the answer takes the clicked message's place
                kwargs["attachments"] = part.files
                kwargs.setdefault("view", None)
                if deferred:
                    await interaction.edit_original_response(**kwargs)
                else:
                    await interaction.response.edit_message(**kwargs)
                continue
            kwargs["ephemeral"] = reply.private
            if part.files:
                kwargs["files"] = part.files
            if n == 0 and not deferred:
                await interaction.response.send_message(**kwargs)
            else:
                await interaction.followup.send(**kwargs)

    async def apologise(self, interaction: discord.Interaction) -> None:
        """A short private apology; never raises."""
        try:
            if interaction.response.is_done():
                await interaction.followup.send(APOLOGY, ephemeral=True)
            else:
                await interaction.response.send_message(APOLOGY, ephemeral=True)
        except Exception:
            log.exception("could not even apologise for interaction %s", interaction.id)

    async def _option_value(self, value: Any) -> Any:
        """Discord's typed value as the core wants it (attachments downloaded into memory)."""
        if isinstance(value, discord.Attachment):
            return Attachment(filename=value.filename, content=await value.read(), description=value.description or "")
        return value
