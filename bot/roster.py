"""The roster CSV: import (good rows are upserted, bad rows are reported by line number) and export.

The export (:func:`roster_table`) writes the import's own columns plus an optional last column ``removed`` (when
an organizer took the person off the roster, UTC ISO 8601, blank if they are on it), so exporting and importing
again loses nothing. An import without that column leaves everyone's removal as it is.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.cohort import Cohort
from bot.core.messages import Table
from bot.core.people import Person, PersonInput
from bot.core.roles import Role
from bot.core.zones import is_zone, suggest_zone
from bot.platforms import platforms, roster_columns
from bot.storage.people import IdentityTaken, PeopleRepo

BASE_COLUMNS = ("name", "email", "role", "track", "section")
# Then one user-id column per platform that has one (discord_id, slack_id; see bot/platforms), then these.
LAST_COLUMNS = ("timezone", "stipend_eligible")
REMOVED_COLUMN = "removed"  # optional: see the module docstring


def columns() -> tuple[str, ...]:
    """The roster CSV's columns, in order: ``name,email,role,track,section,discord_id,slack_id,timezone,...``."""
    return (*BASE_COLUMNS, *roster_columns(), *LAST_COLUMNS)


COLUMNS = columns()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RosterRow(BaseModel):
    """One CSV row, checked on its own (checks against the cohort come after)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    identities: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None
    stipend_eligible: bool = True
    removed: bool | datetime | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v:
            raise ValueError("name is empty")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL_RE.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v.lower()

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v: object) -> Role:
        return v if isinstance(v, Role) else Role.parse(str(v))

    @field_validator("identities")
    @classmethod
    def _ids(cls, v: dict[str, str]) -> dict[str, str]:
        specs = platforms()
        for platform, user_id in v.items():
            spec = specs[platform]
            if spec.id_pattern and not re.fullmatch(spec.id_pattern, user_id):
                raise ValueError(f"{spec.roster_column}: {user_id!r} is not {spec.id_example}")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v and not is_zone(v):
            hint = suggest_zone(v)
            raise ValueError(f"unknown time zone {v!r}" + (f" (did you mean {hint}?)" if hint else ""))
        return v or None

    @field_validator("stipend_eligible", mode="before")
    @classmethod
    def _flag(cls, v: object) -> bool:
        text = str(v).strip().casefold()
        if text in ("", "true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"stipend_eligible must be true or false, not {v!r}")

    @field_validator("removed", mode="before")
    @classmethod
    def _removed(cls, v: object) -> bool | datetime | None:
        if v is None or isinstance(v, bool | datetime):
            return v
        text = str(v).strip()
        if text.casefold() in ("", "false", "no", "0"):
            return False
        if text.casefold() in ("true", "yes", "1"):
            return True
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"removed must be blank, yes, or a date and time, not {v!r}") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def to_input(self) -> PersonInput:
        """The repository's input type."""
        return PersonInput(**self.model_dump())


@dataclass
class ImportReport:
    """What an import did; ``errors`` holds ``(line number, message)``; ``encoding`` how the file was read."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    encoding: str = "UTF-8"

    def summary(self) -> str:
        """One line, then one line per bad row."""
        lines = [
            f"{self.inserted} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} bad row(s) skipped"
            + (f" (read as {self.encoding}: the file is not UTF-8)" if self.encoding != "UTF-8" else "")
        ]
        lines += [f"  line {n}: {msg}" for n, msg in self.errors]
        return "\n".join(lines)


def row_errors(row: RosterRow, cohort: Cohort | None) -> list[str]:
    """What is wrong with ``row`` against the cohort (tracks, sections, a scholar's track and single section)."""
    return _row_errors(row, cohort)


def validate_row(data: dict[str, Any], cohort: Cohort | None) -> RosterRow:
    """One roster row from raw values (as the CSV's), checked on its own and against the cohort; raise
    ``ValueError`` listing every problem (``column: what is wrong; ...``)."""
    try:
        row = RosterRow.model_validate(data)
    except ValidationError as exc:
        raise ValueError("; ".join(_message(e) for e in exc.errors())) from None
    problems = _row_errors(row, cohort)
    if problems:
        raise ValueError("; ".join(problems))
    return row


def _row_errors(row: RosterRow, cohort: Cohort | None) -> list[str]:
    errors = []
    if cohort is None:
        return errors
    if row.track and row.track not in cohort.track_names:
        errors.append(f"track: unknown track {row.track!r} (tracks: {', '.join(cohort.track_names)})")
    if row.role is Role.SCHOLAR and not row.track:
        errors.append("track: a scholar needs a track")
    for s in row.sections:
        if cohort.section(s) is None:
            names = ", ".join(m.name for m in cohort.sections)
            errors.append(f"section: unknown section {s!r} (sections: {names})")
    if row.role is Role.SCHOLAR and len(row.sections) > 1:
        errors.append("section: a scholar belongs to one section")
    return errors


REQUIRED = {
    "name": " (every row needs the person's name)",
    "email": " (every row needs an email address: it is how people are matched on a re-import)",
    "role": " (scholar, facilitator or organizer)",
}
PLACEHOLDER = {"name": "?", "email": "missing@example.invalid", "role": "scholar"}


def _extra_values(columns: int, extra: list[str]) -> str:
    shown = ", ".join(repr(v if len(v) <= 40 else v[:39] + "…") for v in extra[:3])
    return (
        f"this row has more values than the header's {columns} columns (extra: {shown}); "
        "a value containing a comma must be in double quotes"
    )


def _message(error: Any) -> str:
    """A pydantic error as ``column: what is wrong`` (identity errors name their own column)."""
    text = str(error["msg"]).removeprefix("Value error, ")
    field = str(error["loc"][0]) if error["loc"] else "row"
    return text if field == "identities" else f"{field}: {text}"


def parse_rows(text: str, cohort: Cohort | None) -> tuple[list[tuple[int, RosterRow]], list[tuple[int, str]]]:
    """Parse CSV text into ``(line, row)`` pairs and ``(line, error)`` pairs."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [(1, f"the header row is missing column(s): {', '.join(missing)} (expected {','.join(COLUMNS)})")]
    good: list[tuple[int, RosterRow]] = []
    bad: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        extra = [v for v in raw.get(None) or [] if v.strip()]  # type: ignore[call-overload]
        if not any(values.values()) and not extra:
            continue
        if extra:
            bad.append((line, _extra_values(len(header), extra)))
            continue
        data: dict[str, object] = {k: values.get(k) or None for k in ("name", "email", "role", "track", "timezone")}
        data["identities"] = {p: values[c] for c, p in roster_columns().items() if values.get(c)}
        data["sections"] = tuple(s.strip() for s in (values.get("section") or "").split(";") if s.strip())
        data["stipend_eligible"] = values.get("stipend_eligible", "")
        missing = [f"{k} is missing{REQUIRED[k]}" for k in REQUIRED if not data.get(k)]
        if REMOVED_COLUMN in header:
            data["removed"] = values.get(REMOVED_COLUMN, "")
        try:
            row = RosterRow.model_validate({**data, **{k: PLACEHOLDER[k] for k in REQUIRED if not data.get(k)}})
        except ValidationError as exc:
            problems = [_message(e) for e in exc.errors()]
            bad.append((line, "; ".join(missing + problems)))
            continue
        if missing:
            bad.append((line, "; ".join(missing)))
            continue
        problems = _row_errors(row, cohort)
        if row.email in seen:
            problems.append(f"email: {row.email} is already on line {seen[row.email]}")
        if problems:
            bad.append((line, "; ".join(problems)))
            continue
        seen[row.email] = line
        good.append((line, row))
    return good, bad


def roster_table(people: list[Person]) -> Table:
    """``people`` in the import's format (plus ``removed``): importing the result changes nothing."""
    ids = roster_columns()
    rows = []
    for p in people:
        rows.append(
            [
                p.name,
                p.email,
                p.role.label,
                p.track or "",
                ";".join(p.sections),
                *(p.platform_id(platform) or "" for platform in ids.values()),
                p.timezone or "",
                "true" if p.stipend_eligible else "false",
                p.removed_at.astimezone(UTC).isoformat() if p.removed_at else "",
            ]
        )
    return Table(headers=[*COLUMNS, REMOVED_COLUMN], rows=rows)


async def import_roster(repo: PeopleRepo, text: str, cohort: Cohort | None, now: datetime) -> ImportReport:
    """Upsert every good row (keyed by email); a row that clashes in the database is reported, not fatal."""
    good, bad = parse_rows(text, cohort)
    report = ImportReport(errors=list(bad))
    for line, row in good:
        try:
            outcome = await repo.upsert(row.to_input(), now)
        except IdentityTaken as exc:
            column = platforms()[exc.platform].roster_column
            report.errors.append((line, f"{column}: {exc.user_id} is already {exc.holder}'s on the roster"))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.errors.sort()
    return report


class RosterFileError(ValueError):
    """The roster file cannot be read as CSV text; the message says why and what to do."""


def decode_roster(raw: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a roster file.

    UTF-8 (with or without a byte-order mark, as Excel's "CSV UTF-8" writes it) or UTF-16 with a byte-order mark
    are read as such; anything else that decodes as Windows-1252 (Excel's plain "CSV" on Windows, a superset of
    Latin-1's printable characters) is read as Windows-1252, and the report says so. Binary data is refused.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise RosterFileError('the file starts like UTF-16 text but is not; save it as "CSV UTF-8"') from None
    if b"\x00" in raw:
        raise RosterFileError("this is not a CSV text file (it contains NUL bytes); export the roster as CSV")
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RosterFileError(
            f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{raw[exc.start]:02X} on line {line}); "
            'save it as "CSV UTF-8"'
        ) from None


def read_roster(path: str | Path) -> tuple[str, str]:
    """``(text, encoding)`` of the roster file at ``path`` (see :func:`decode_roster`)."""
    return decode_roster(Path(path).read_bytes())


async def import_roster_file(repo: PeopleRepo, path: str | Path, cohort: Cohort | None, now: datetime) -> ImportReport:
    """:func:`import_roster` on a file, in whatever encoding :func:`decode_roster` accepts (said in the report)."""
    text, encoding = await asyncio.to_thread(read_roster, path)
    report = await import_roster(repo, text, cohort, now)
    report.encoding = encoding
    return report
