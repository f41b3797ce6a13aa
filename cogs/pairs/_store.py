"""The pairs tables (migration 0014): sessions, members, rounds and groups, who met whom, and topics.

Reads are one query each (never one per person); a round's writes go in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.clock import from_db, to_db
from cogs.pairs.grouping import Formed, Group, State

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.storage.db import Database

ACTIVE = ("lobby", "running")


@dataclass(frozen=True)
class Session:
    """A row of ``pair_sessions``."""

    id: int
    section: str | None
    channel: str
    workshop: str | None
    size: int
    rounds: int
    minutes: int
    trios: bool
    avoid_history: bool
    state: str
    current_round: int
    next_at: datetime | None
    seed: int
    plan: dict[str, Any] | None
    started_by: int | None
    created_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    @property
    def active(self) -> bool:
        """In the lobby or running."""
        return self.state in ACTIVE

    @property
    def where(self) -> str:
        """``#channel`` (and the section when it has one), for messages."""
        return f"#{self.channel}" + (f" ({self.section})" if self.section and self.section != self.channel else "")


@dataclass(frozen=True)
class Member:
    """A row of ``pair_members``: in the rounds from ``joined_round`` until before ``left_round``."""

    person_id: int
    joined_round: int
    left_round: int | None

    def takes_part(self, round_number: int) -> bool:
        """Whether this member is placed in round ``round_number``."""
        return self.joined_round <= round_number and (self.left_round is None or round_number < self.left_round)


@dataclass(frozen=True)
class PlayedRound:
    """A round as played: its groups (numbered from 1), who rested, the suggestion per group, its times."""

    number: int
    started_at: datetime
    ends_at: datetime
    groups: dict[int, tuple[int, ...]]
    suggestions: dict[int, str | None]
    resting: tuple[int, ...]

    def group_of(self, person_id: int) -> int | None:
        """The number of ``person_id``'s group (``None`` if resting or absent)."""
        return next((g for g, members in self.groups.items() if person_id in members), None)


@dataclass(frozen=True)
class TopicUse:
    """A logged topic and one of the people who used it."""

    topic_id: int
    person_id: int
    text: str
    normalized: str
    logged_at: datetime
    session_id: int
    round: int
    grp: int


def _session(row: Any) -> Session:
    return Session(
        id=row["id"],
        section=row["section"],
        channel=row["channel"],
        workshop=row["workshop"],
        size=row["size"],
        rounds=row["rounds"],
        minutes=row["minutes"],
        trios=bool(row["trios"]),
        avoid_history=bool(row["avoid_history"]),
        state=row["state"],
        current_round=row["current_round"],
        next_at=from_db(row["next_at"]) if row["next_at"] else None,
        seed=row["seed"],
        plan=json.loads(row["plan"]) if row["plan"] else None,
        started_by=row["started_by"],
        created_at=from_db(row["created_at"]),
        ended_at=from_db(row["ended_at"]) if row["ended_at"] else None,
        end_reason=row["end_reason"],
    )


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted(set(values)))


class PairsRepo:
    """Everything the pairs feature stores."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- sessions -------------------------------------------------------------------------------------
    async def create(
        self,
        *,
        section: str | None,
        channel: str,
        workshop: str | None,
        size: int,
        rounds: int,
        minutes: int,
        trios: bool,
        avoid_history: bool,
        state: str,
        next_at: datetime | None,
        seed: int,
        started_by: int | None,
        now: datetime,
    ) -> int:
        """A new session; its id."""
        cursor = await self.db.execute(
            "INSERT INTO pair_sessions (section, channel, workshop, size, rounds, minutes, trios, avoid_history,"
            " state, next_at, seed, started_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                section,
                channel,
                workshop,
                size,
                rounds,
                minutes,
                int(trios),
                int(avoid_history),
                state,
                to_db(next_at) if next_at else None,
                seed,
                started_by,
                to_db(now),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def get(self, session_id: int) -> Session | None:
        """The session with ``session_id``."""
        row = await self.db.fetchone("SELECT * FROM pair_sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def active(self) -> list[Session]:
        """Sessions in the lobby or running, oldest first."""
        rows = await self.db.fetchall("SELECT * FROM pair_sessions WHERE state IN ('lobby', 'running') ORDER BY id")
        return [_session(r) for r in rows]

    async def update(self, session_id: int, **values: Any) -> None:
        """Set columns of a session (datetimes stored as UTC text, the plan as JSON)."""
        if not values:
            return
        encoded = {}
        for key, value in values.items():
            if isinstance(value, datetime):
                value = to_db(value)
            elif key == "plan" and value is not None:
                value = json.dumps(value, separators=(",", ":"))
            encoded[key] = value
        assignments = ", ".join(f"{k} = ?" for k in encoded)
        await self.db.execute(f"UPDATE pair_sessions SET {assignments} WHERE id = ?", (*encoded.values(), session_id))

    # ---- members --------------------------------------------------------------------------------------
    async def members(self, session_id: int) -> list[Member]:
        """Everyone who joined the session (including those who left)."""
        rows = await self.db.fetchall(
            "SELECT person_id, joined_round, left_round FROM pair_members WHERE session_id = ?"
            " ORDER BY joined_at, rowid",
            (session_id,),
        )
        return [Member(r["person_id"], r["joined_round"], r["left_round"]) for r in rows]

    async def member(self, session_id: int, person_id: int) -> Member | None:
        """One person's membership."""
        row = await self.db.fetchone(
            "SELECT person_id, joined_round, left_round FROM pair_members WHERE session_id = ? AND person_id = ?",
            (session_id, person_id),
        )
        return Member(row["person_id"], row["joined_round"], row["left_round"]) if row else None

    async def join(self, session_id: int, person_ids: Sequence[int], from_round: int, now: datetime) -> None:
        """Add people from round ``from_round`` (someone who left comes back from then)."""
        await self.db.executemany(
            "INSERT INTO pair_members (session_id, person_id, joined_round, joined_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (session_id, person_id) DO UPDATE SET joined_round = excluded.joined_round,"
            " left_round = NULL, joined_at = excluded.joined_at",
            [(session_id, p, from_round, to_db(now)) for p in person_ids],
        )

    async def leave(self, session_id: int, person_id: int, from_round: int) -> None:
        """Take a person out from round ``from_round`` (in the lobby: remove them)."""
        if from_round <= 1:
            await self.db.execute(
                "DELETE FROM pair_members WHERE session_id = ? AND person_id = ?", (session_id, person_id)
            )
            return
        await self.db.execute(
            "UPDATE pair_members SET left_round = ? WHERE session_id = ? AND person_id = ?",
            (from_round, session_id, person_id),
        )

    async def busy(self, person_ids: Iterable[int], but: int | None = None) -> dict[int, Session]:
        """Of ``person_ids``, those taking part in an active session (other than ``but``), with it."""
        rows = await self.db.fetchall(
            "SELECT m.person_id AS pid, s.* FROM pair_members m JOIN pair_sessions s ON s.id = m.session_id"
            " WHERE s.state IN ('lobby', 'running') AND m.left_round IS NULL AND s.id != ?"
            " AND m.person_id IN (SELECT value FROM json_each(?))",
            (but or 0, _ids(person_ids)),
        )
        return {r["pid"]: _session(r) for r in rows}

    # ---- rounds ---------------------------------------------------------------------------------------
    async def record_round(
        self,
        session_id: int,
        number: int,
        formed: Formed,
        suggestions: Sequence[str | None],
        started_at: datetime,
        ends_at: datetime,
    ) -> None:
        """Store a round: its times, its groups (numbered from 1; resting people in group 0) and who met whom."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO pair_rounds (session_id, round, started_at, ends_at) VALUES (?, ?, ?, ?)",
                (session_id, number, to_db(started_at), to_db(ends_at)),
            )
            rows = [
                (session_id, number, g, p, suggestions[g - 1])
                for g, group in enumerate(formed.groups, start=1)
                for p in group
            ]
            rows += [(session_id, number, 0, p, None) for p in formed.resting]
            await conn.executemany(
                "INSERT INTO pair_groups (session_id, round, grp, person_id, suggestion) VALUES (?, ?, ?, ?, ?)", rows
            )
            met = [
                (min(a, b), max(a, b), session_id)
                for group in formed.groups
                for i, a in enumerate(group)
                for b in group[i + 1 :]
            ]
            await conn.executemany("INSERT OR IGNORE INTO pair_met (a, b, session_id) VALUES (?, ?, ?)", met)

    async def played(self, session_id: int, number: int | None = None) -> list[PlayedRound]:
        """The rounds played so far (or just round ``number``), in order."""
        extra = " AND r.round = ?" if number is not None else ""
        params: tuple = (session_id, number) if number is not None else (session_id,)
        rows = await self.db.fetchall(
            "SELECT r.round, r.started_at, r.ends_at, g.grp, g.person_id, g.suggestion FROM pair_rounds r"
            " JOIN pair_groups g ON g.session_id = r.session_id AND g.round = r.round"
            f" WHERE r.session_id = ?{extra} ORDER BY r.round, g.grp, g.person_id",
            params,
        )
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            entry = out.setdefault(
                r["round"],
                {"times": (from_db(r["started_at"]), from_db(r["ends_at"])), "groups": {}, "sugg": {}, "rest": []},
            )
            if r["grp"] == 0:
                entry["rest"].append(r["person_id"])
            else:
                entry["groups"].setdefault(r["grp"], []).append(r["person_id"])
                entry["sugg"][r["grp"]] = r["suggestion"]
        return [
            PlayedRound(
                number=n,
                started_at=e["times"][0],
                ends_at=e["times"][1],
                groups={g: tuple(m) for g, m in e["groups"].items()},
                suggestions=e["sugg"],
                resting=tuple(e["rest"]),
            )
            for n, e in sorted(out.items())
        ]

    async def met_before(self, session_id: int, people: Iterable[int]) -> dict[int, set[int]]:
        """Who among ``people`` met whom in other sessions (symmetric). One indexed query on the first person of
        each pair (``a IN``: a search per person, not per pair of people), the second filtered here."""
        wanted = set(people)
        rows = await self.db.fetchall(
            "SELECT a, b FROM pair_met WHERE a IN (SELECT value FROM json_each(?)) AND session_id != ?",
            (_ids(wanted), session_id),
        )
        out: dict[int, set[int]] = {}
        for r in rows:
            a, b = r["a"], r["b"]
            if b in wanted:
                out.setdefault(a, set()).add(b)
                out.setdefault(b, set()).add(a)
        return out

    async def state(
        self, session: Session, people: Iterable[int], played: Sequence[PlayedRound] | None = None
    ) -> State:
        """The grouping state before the next round: this session's rounds (``played``, if already loaded), and
        earlier sessions' meetings if the session avoids them."""
        before = await self.met_before(session.id, people) if session.avoid_history else {}
        state = State(before=before)
        for done in played if played is not None else await self.played(session.id):
            state.record(done.groups.values(), done.resting, session.size)
        return state

    # ---- topics ---------------------------------------------------------------------------------------
    async def topics_of(self, person_ids: Iterable[int]) -> list[TopicUse]:
        """Every topic any of ``person_ids`` used, oldest first, one entry per (topic, such person)."""
        rows = await self.db.fetchall(
            "SELECT t.id, u.person_id, t.text, t.normalized, t.logged_at, t.session_id, t.round, t.grp"
            " FROM pair_topic_people u JOIN pair_topics t ON t.id = u.topic_id"
            " WHERE u.person_id IN (SELECT value FROM json_each(?)) ORDER BY t.logged_at, t.id",
            (_ids(person_ids),),
        )
        return [
            TopicUse(
                r["id"],
                r["person_id"],
                r["text"],
                r["normalized"],
                from_db(r["logged_at"]),
                r["session_id"],
                r["round"],
                r["grp"],
            )
            for r in rows
        ]

    async def topic_users(self, topic_ids: Iterable[int]) -> dict[int, list[int]]:
        """Who used each topic."""
        rows = await self.db.fetchall(
            "SELECT topic_id, person_id FROM pair_topic_people WHERE topic_id IN (SELECT value FROM json_each(?))",
            (_ids(topic_ids),),
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(r["topic_id"], []).append(r["person_id"])
        return out

    async def group_topic(self, session_id: int, number: int, grp: int) -> tuple[str, int | None] | None:
        """The topic a group logged in a round, and who logged it."""
        row = await self.db.fetchone(
            "SELECT text, logged_by FROM pair_topics WHERE session_id = ? AND round = ? AND grp = ?",
            (session_id, number, grp),
        )
        return (row["text"], row["logged_by"]) if row else None

    async def add_topic(
        self,
        session_id: int,
        number: int,
        grp: int,
        text: str,
        normalized: str,
        by: int,
        people: Sequence[int],
        now: datetime,
    ) -> int:
        """Log a group's topic for everyone in it; its id."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO pair_topics (session_id, round, grp, text, normalized, logged_by, logged_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, number, grp, text, normalized, by, to_db(now)),
            )
            topic_id = cursor.lastrowid
            assert topic_id is not None
            await conn.executemany(
                "INSERT INTO pair_topic_people (topic_id, person_id) VALUES (?, ?)", [(topic_id, p) for p in people]
            )
        return topic_id


def repo(app: CohortBot) -> PairsRepo:
    """The pairs repository (stateless, so a new one is as good as a kept one)."""
    return PairsRepo(app.db)


__all__ = ["ACTIVE", "Group", "Member", "PairsRepo", "PlayedRound", "Session", "TopicUse", "repo"]
