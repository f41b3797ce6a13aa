"""The core's buttons and selects as Discord message components, and clicks on them back to the core.

A control's custom id carries its whole action (``cb1|command|options|into|expires``, see
:func:`bot.core.messages.action_id`), so clicks need no state in this process: one discord.py
:class:`~discord.ui.DynamicItem` matches every custom id of ours, on any message, also after a restart.
Views built here are stopped before they are sent, so discord.py does not keep one per message in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.core.messages import ACTION_PREFIX, Button, Control, Select

TEMPLATE = ACTION_PREFIX + r"\|.*"
ROWS = 5
BUTTONS_PER_ROW = 5
LABEL_MAX = 80
OPTION_MAX = 100
PLACEHOLDER_MAX = 150
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
Click = Callable[[discord.Interaction], Awaitable[None]]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_view(controls: Sequence[Control], people_ids: dict[str, str] | None = None) -> discord.ui.View | None:
    """A (stopped) view holding ``controls``: buttons five to a row, each select on a row of its own.

    ``people_ids`` maps person refs (``#12``) to Discord user ids, for a people select's pre-selected entries.
    Controls beyond Discord's five rows are left out (features keep to a few).
    """
    if not controls:
        return None
    view = discord.ui.View(timeout=None)
    row = -1
    in_row = BUTTONS_PER_ROW
    seen: dict[str, int] = {}
    for control in controls:
        custom_id = control.id
        seen[custom_id] = seen.get(custom_id, 0) + 1
        if seen[custom_id] > 1:  # two identical controls: custom ids must differ within a message
            custom_id = f"{custom_id}#{seen[custom_id]}"
        if isinstance(control, Button):
            if in_row >= BUTTONS_PER_ROW:
                row, in_row = row + 1, 0
            if row >= ROWS:
                break
            in_row += 1
            view.add_item(
                discord.ui.Button(
                    label=_cut(control.label, LABEL_MAX), style=STYLES[control.style], custom_id=custom_id, row=row
                )
            )
            continue
        row, in_row = row + 1, BUTTONS_PER_ROW
        if row >= ROWS:
            break
        view.add_item(_select(control, custom_id, row, people_ids or {}))
    view.stop()
    return view


def _select(control: Select, custom_id: str, row: int, people_ids: dict[str, str]) -> discord.ui.Item[Any]:
    placeholder = _cut(control.placeholder, PLACEHOLDER_MAX)
    if control.people:
        defaults = [discord.Object(int(people_ids[p])) for p in control.selected if people_ids.get(p, "").isdigit()]
        return discord.ui.UserSelect(
            custom_id=custom_id,
            placeholder=placeholder,
            min_values=control.min_values,
            max_values=control.max_values,
            default_values=defaults[: control.max_values],
            row=row,
        )
    picked = set(control.selected)
    options = [
        discord.SelectOption(
            label=_cut(c.label, OPTION_MAX) or c.value,
            value=c.value[:OPTION_MAX],
            description=_cut(c.description, OPTION_MAX) if c.description else None,
            default=c.value in picked,
        )
        for c in control.choices
    ]
    return discord.ui.Select(
        custom_id=custom_id,
        placeholder=placeholder,
        min_values=min(control.min_values, len(options)),
        max_values=max(1, min(control.max_values, len(options))),
        options=options,
        row=row,
    )


def chosen_values(interaction: discord.Interaction) -> list[str]:
    """What a select sent, as the core wants it: choice values, or people as mentions ``<@id>``."""
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    values = [str(v) for v in data.get("values") or []]
    if data.get("component_type") == discord.ComponentType.user_select.value:
        return [f"<@{v}>" for v in values]
    return values


def control_item(click: Click) -> type[discord.ui.DynamicItem[Any]]:
    """The dynamic item that hands every click on one of our controls to ``click``."""

    class CohortControl(discord.ui.DynamicItem[discord.ui.Item[Any]], template=TEMPLATE):
        """Any button or select whose custom id carries a cohortbot action."""

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
        ) -> CohortControl:
            return cls(item)

        async def callback(self, interaction: discord.Interaction) -> None:
            await click(interaction)

    return CohortControl
