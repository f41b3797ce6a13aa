"""Command declarations: each feature declares a command once; every platform builds its own from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from bot.core.roles import Role

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.core.messages import Reply
    from bot.core.platform import Capabilities


class OptionType(Enum):
    """What kind of value an option takes; the core parses text into it."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    WEEK = "week"  # an integer week number of the cohort
    SECTION = "section"  # a section name of the cohort
    PERSON = "person"  # someone on the roster: a name, an email or a platform mention
    DATETIME = "datetime"  # a local date and time, read in the asking person's zone
    ZONE = "zone"  # an IANA time zone name
    URL = "url"  # an http(s) link
    PEOPLE = "people"  # several people on the roster, separated by commas (names, emails or mentions)
    FILE = "file"  # an uploaded file (Discord attachments); platforms without it omit the option


@dataclass(frozen=True)
class Choice:
    """A fixed or suggested value: ``name`` is shown, ``value`` is sent."""

    name: str
    value: str | int


Autocomplete = Callable[["Context", str], Awaitable[list[Choice]]]


@dataclass(frozen=True)
class Option:
    """One option of a command.

    ``own_sections`` limits a SECTION or PERSON option to the facilitator's own sections (organizers are not
    limited). ``autocomplete`` overrides the default suggestions for the option's type.
    """

    name: str
    description: str
    type: OptionType = OptionType.STRING
    required: bool = False
    choices: Sequence[Choice] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    own_sections: bool = False
    autocomplete: Autocomplete | None = None
    removed_ok: bool = False  # PERSON/PEOPLE: may name someone removed from the roster (else refused clearly)

    def usage(self) -> str:
        """``name:<type>`` or ``[name:<type>]``."""
        hint = "|".join(str(c.value) for c in self.choices) if self.choices else self.type.value
        text = f"{self.name}:<{hint}>"
        return text if self.required else f"[{text}]"


Handler = Callable[..., Awaitable["Reply | str | None"]]


@dataclass(frozen=True)
class Command:
    """A command declared once for every platform.

    ``name`` may have two words (``"pair start"``): platforms group such commands under the first word.
    ``min_role`` is the lowest role that may run it; ``None`` lets anyone on the roster run it. ``only_for`` names
    the one role it is meant for (``/submit``: scholars): ``/help`` lists it only for that role, and its handler
    refuses the others in words of its own.
    ``private`` says whether the reply is shown only to the asker (handlers may override per reply).
    ``slow`` tells adapters to acknowledge at once and answer later.
    ``hidden`` commands are run only by buttons and selects (see :class:`bot.core.messages.Action`): platforms do
    not register them, ``/help`` does not list them, and typing one is "unknown command".
    ``anyone`` commands may also be run by people the roster does not know (yet): their handler gets a guest
    context (``ctx.guest``; see :class:`bot.core.context.Context`). It needs ``min_role=None``.
    """

    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    min_role: Role | None = Role.SCHOLAR
    private: bool = True
    slow: bool = False
    hidden: bool = False
    anyone: bool = False
    feature: str = ""
    only_for: Role | None = None

    def __post_init__(self) -> None:
        if self.anyone and self.min_role is not None:
            raise ValueError(f"/{self.name}: a command open to anyone cannot also need a role (use min_role=None)")

    def listed_for(self, role: Role) -> bool:
        """Whether ``/help`` lists it for ``role``: allowed, and meant for that role."""
        allowed = self.min_role is None or role >= self.min_role
        return allowed and (self.only_for is None or role == self.only_for)

    def usage(self, *, files: bool = True) -> str:
        """The usage line shown by ``/help`` and on a parse error (``files=False`` for text-only platforms)."""
        shown = [o for o in self.options if files or o.type is not OptionType.FILE]
        return " ".join([f"/{self.name}", *(o.usage() for o in shown)])

    def usage_for(self, caps: Capabilities) -> str:
        """The usage line on a platform with ``caps`` (FILE options only where commands can carry files)."""
        return self.usage(files=caps.files)

    def option(self, name: str) -> Option | None:
        """The option called ``name``, if any."""
        return next((o for o in self.options if o.name == name), None)

    @property
    def group(self) -> str | None:
        """The first word of a two-word name (``"pair"`` for ``"pair start"``)."""
        return self.name.split(" ", 1)[0] if " " in self.name else None

    @property
    def leaf(self) -> str:
        """The last word of the name."""
        return self.name.rsplit(" ", 1)[-1]


@dataclass
class CommandRegistry:
    """All declared commands, by name; names are unique. Iterating gives the visible (typed) commands."""

    _commands: dict[str, Command] = field(default_factory=dict)
    # groups(), worked out until the next add
    _groups: dict[str, list[Command]] | None = field(default=None, repr=False, compare=False)

    def add(self, command: Command) -> Command:
        """Register ``command``; a duplicate name is a programming error."""
        if command.name in self._commands:
            raise ValueError(f"command /{command.name} is declared twice")
        if not command.hidden:
            visible = list(self)
            if command.group and any(c.name == command.group for c in visible):
                raise ValueError(f"/{command.name} clashes with the single command /{command.group}")
            if any(c.group == command.name for c in visible):
                raise ValueError(f"/{command.name} clashes with the command group /{command.name}")
        self._commands[command.name] = command
        self._groups = None
        return command

    def get(self, name: str) -> Command | None:
        """The command called ``name`` (without the slash), hidden ones included."""
        return self._commands.get(name.lstrip("/"))

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted((c for c in self._commands.values() if not c.hidden), key=lambda c: c.name))

    def __len__(self) -> int:
        return sum(1 for c in self._commands.values() if not c.hidden)

    def everything(self) -> list[Command]:
        """Every command, hidden ones included, by name."""
        return sorted(self._commands.values(), key=lambda c: c.name)

    def groups(self) -> dict[str, list[Command]]:
        """Two-word commands grouped by their first word (worked out once per set of commands: every typed
        command asks; read it, do not change it)."""
        if self._groups is None:
            out: dict[str, list[Command]] = {}
            for c in self:
                if c.group:
                    out.setdefault(c.group, []).append(c)
            self._groups = out
        return self._groups

    def top_level_names(self) -> list[str]:
        """The names a platform registers: single commands and group names."""
        return sorted({c.group or c.name for c in self})


def command(
    name: str,
    description: str,
    *options: Option,
    min_role: Role | None = Role.SCHOLAR,
    private: bool = True,
    slow: bool = False,
    hidden: bool = False,
    anyone: bool = False,
    only_for: Role | None = None,
) -> Callable[[Handler], Command]:
    """Decorator turning a handler ``async def h(ctx, **options)`` into a :class:`Command`."""

    def wrap(handler: Handler) -> Command:
        module = getattr(handler, "__module__", "")
        return Command(
            name=name,
            description=description,
            handler=handler,
            options=tuple(options),
            min_role=min_role,
            private=private,
            slow=slow,
            hidden=hidden,
            anyone=anyone,
            feature=module.rsplit(".", 1)[-1],
            only_for=only_for,
        )

    return wrap


def declared(module_globals: dict[str, Any]) -> list[Command]:
    """Every :class:`Command` defined at module level, in definition order (used by cogs' ``setup``)."""
    return [v for v in module_globals.values() if isinstance(v, Command)]
