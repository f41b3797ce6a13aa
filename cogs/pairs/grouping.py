"""Forming the groups of a rotating-pairs round: pure and fast, no I/O (see docs/pairs.md for the reasoning).

Rules, in order of priority:

1. everyone present is placed, in groups of 2 or 3 (``size=2``: pairs, and one trio when the count is odd;
   ``size=3``: trios, and one or two pairs when the count is not a multiple of 3); nobody is alone (with
   ``trios=False`` and an odd count in pairs, one person rests instead, the rest rotating);
2. nobody meets someone they already met in this session, for as many rounds as that is possible;
3. the odd group rotates: nobody is in the trio (with ``size=3``: in a pair) twice in a row when avoidable;
4. people who met in earlier sessions (``before``) are kept apart where possible.

How rule 2 is kept:

* **Per round** (:func:`form_round`): a greedy matching by random probing, then repairs by exchange. For pairs
  this is exact while everyone present still has at least half of the others left to meet (Dirac's condition:
  two people left over always have a pair they can swap with, by pigeonhole), so with n people it holds for
  ``n / 2`` rounds (even n) and ``(n + 1) / 4`` rounds (odd n, where the trio uses up partners twice as fast).
  Earlier meetings only steer the choice among the allowed partners, so they never cost a repeat in-session.
* **Whole session** (:func:`plan`): when more rounds than that are asked for a fixed set of people, a stored
  construction is used: the circle method for an even count (n − 1 rounds, the most possible), and for an
  odd count the designs in ``designs.txt`` (the most possible: n − 4 rounds from n = 11, 6 for n = 9, 3 for
  n = 7, 1 for n = 3 and 5). People are placed on the construction's seats by a local search that keeps
  earlier partners apart.

:func:`repeat_free_rounds` says how many rounds are guaranteed free of repeats for a fixed group.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from cogs.pairs._designs import MAX_ROUNDS, design, odd_maximum

Group = tuple[int, ...]
EMPTY: frozenset[int] = frozenset()
PROBES = 24  # random partners tried before a full scan
IMPROVE_TRIES = 24  # exchanges tried per group that could be better
SCAN_GROUPS = 40  # a repair looks at every other group up to this many, else at a sample of this many
STALL = 60  # repair steps without fewer repeats before it stops
GIVE_UP = 3 * IMPROVE_TRIES  # exchanges in a row that lowered nothing before improving stops


@dataclass
class State:
    """What earlier rounds say: who met whom in this session and before, and who was in the odd group.

    ``met`` and ``before`` map a person to the people they met (symmetric); ``small`` counts each person's
    rounds in the odd group (the trio, or a pair when the groups are trios); ``last_small`` is that group's
    members in the previous round; ``rested``/``last_rested`` the same for resting (``trios=False``).
    """

    met: dict[int, set[int]] = field(default_factory=dict)
    before: Mapping[int, Set[int]] = field(default_factory=dict)
    small: dict[int, int] = field(default_factory=dict)
    last_small: set[int] = field(default_factory=set)
    rested: dict[int, int] = field(default_factory=dict)
    last_rested: set[int] = field(default_factory=set)

    def allowed(self, a: int, b: int) -> bool:
        """Whether ``a`` and ``b`` have not met in this session."""
        return b not in self.met.get(a, EMPTY)

    def cost(self, a: int, b: int) -> int:
        """1 if ``a`` and ``b`` met in an earlier session, else 0."""
        return 1 if b in self.before.get(a, EMPTY) else 0

    def record(self, groups: Iterable[Group], resting: Iterable[int] = (), size: int = 2) -> None:
        """Add a played round: who met whom, who was in the odd group (a size other than ``size``), who rested."""
        groups = [tuple(g) for g in groups]
        mixed = any(len(g) == size for g in groups)
        self.last_small = set()
        for g in groups:
            for a in g:
                self.met.setdefault(a, set()).update(b for b in g if b != a)
            if mixed and len(g) != size:
                for a in g:
                    self.small[a] = self.small.get(a, 0) + 1
                    self.last_small.add(a)
        self.last_rested = set(resting)
        for a in self.last_rested:
            self.rested[a] = self.rested.get(a, 0) + 1

    def copy(self) -> State:
        """An independent copy (the plan simulates rounds on it)."""
        return State(
            met={k: set(v) for k, v in self.met.items()},
            before=self.before,
            small=dict(self.small),
            last_small=set(self.last_small),
            rested=dict(self.rested),
            last_rested=set(self.last_rested),
        )


@dataclass(frozen=True)
class Formed:
    """One round: its groups (the odd one first, if any) and who rests (only with ``trios=False``)."""

    groups: tuple[Group, ...]
    resting: tuple[int, ...] = ()


# ---- how many rounds ---------------------------------------------------------------------------------------
def group_sizes(n: int, size: int = 2, trios: bool = True) -> list[int]:
    """The sizes of the groups for ``n`` people (the odd one first); a rest of 1 means one person rests."""
    if size not in (2, 3):
        raise ValueError("groups are of 2 or 3")
    if n < 2:
        raise ValueError("at least 2 people are needed")
    if size == 2:
        if n % 2 == 0:
            return [2] * (n // 2)
        return [3, *([2] * ((n - 3) // 2))] if trios else [1, *([2] * (n // 2))]
    if n % 3 == 0:
        return [3] * (n // 3)
    if n % 3 == 1:
        return [2, 2, *([3] * ((n - 4) // 3))]
    return [2, *([3] * (n // 3))]


def maximum_rounds(n: int, size: int = 2) -> int:
    """The most rounds ``n`` people can have with no pair meeting twice (for trios: an upper bound)."""
    if n < 2:
        return 0
    if size == 2:
        return n - 1 if n % 2 == 0 else odd_maximum(n)
    return max(1, (n - 1) // 2)


def per_round_safe(n: int, size: int = 2) -> int:
    """Rounds that :func:`form_round` alone keeps free of repeats for a fixed group of ``n`` (proved, pairs)."""
    if size != 2 or n < 2:
        return 1
    return n // 2 if n % 2 == 0 else max(1, (n + 1) // 4)


def repeat_free_rounds(n: int, size: int = 2) -> int:
    """Rounds guaranteed free of repeated partners for a fixed group of ``n`` people (pairs; trios: 1 or more).

    Pairs: the maximum, n − 1 for an even count and the stored designs' count for an odd one (up to
    :data:`MAX_ROUNDS` rounds beyond 77 people, where per-round matching already guarantees it).
    """
    if size != 2:
        return 1
    if n % 2 == 0:
        return n - 1
    if n <= 5:
        return 1
    found = design(n)
    return max(len(found) if found else 0, per_round_safe(n))


# ---- one round -------------------------------------------------------------------------------------------
class _Pool:
    """People not yet placed: O(1) random pick and removal."""

    def __init__(self, people: Iterable[int]) -> None:
        self.items = list(people)
        self.where = {p: i for i, p in enumerate(self.items)}

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, p: int) -> bool:
        return p in self.where

    def remove(self, p: int) -> None:
        i = self.where.pop(p)
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.where[last] = i

    def pick(self, rng: random.Random) -> int:
        return self.items[rng.randrange(len(self.items))]


def _partner(u: int, pool: _Pool, state: State, rng: random.Random, also: Sequence[int] = ()) -> int | None:
    """An unplaced person who has met neither ``u`` nor anyone in ``also`` this session, preferably one none of
    them met before; ``None`` if there is none. Random probes first (cheap when most are allowed), then a scan."""
    met = state.met
    blocked = [met.get(a, EMPTY) for a in (u, *also)]
    earlier = [state.before.get(a, EMPTY) for a in (u, *also)]
    taken = {u, *also}
    items = pool.items
    count = len(items)
    rand = rng.random
    fallback = None
    for _ in range(min(PROBES, count)):
        v = items[int(rand() * count)]
        if v not in taken and not any(v in b for b in blocked):
            if not any(v in e for e in earlier):
                return v
            if fallback is None:
                fallback = v
    for v in items:
        if v not in taken and not any(v in b for b in blocked):
            if not any(v in e for e in earlier):
                return v
            if fallback is None:
                fallback = v
    return fallback


def _matching(people: Sequence[int], state: State, rng: random.Random) -> tuple[list[list[int]], bool]:
    """Pairs covering ``people`` (an even count), and whether each pair is new this session.

    Greedy (the hardest to place first), then exchange repairs: two people left over and a pair (a, b) with
    u–a and v–b allowed become (u, a), (v, b). Under Dirac's condition such a pair always exists.
    """
    met = state.met
    order = list(people)
    rng.shuffle(order)
    order.sort(key=lambda p: -len(met.get(p, EMPTY)))
    pool = _Pool(order)
    pairs: list[list[int]] = []
    left: list[int] = []
    for u in order:
        if u not in pool:
            continue
        pool.remove(u)
        v = _partner(u, pool, state, rng)
        if v is None:
            left.append(u)
            continue
        pool.remove(v)
        pairs.append([u, v])
    while len(left) >= 2:
        u = left.pop()
        v = next((x for x in left if state.allowed(u, x)), None)
        if v is not None:
            left.remove(v)
            pairs.append([u, v])
            continue
        swapped = False
        for i, (x, y) in enumerate(pairs):
            for a, b in ((x, y), (y, x)):
                if state.allowed(u, a):
                    w = next((z for z in left if state.allowed(z, b)), None)
                    if w is not None:
                        left.remove(w)
                        pairs[i] = [u, a]
                        pairs.append([w, b])
                        swapped = True
                        break
            if swapped:
                break
        if not swapped:
            left.append(u)
            break
    clean = not left
    # Beyond what can be repaired: pair the rest by fewest meetings (a repeat is unavoidable here).
    while len(left) >= 2:
        u = left.pop()
        v = min(left, key=lambda x: (not state.allowed(u, x), state.cost(u, x)))
        left.remove(v)
        pairs.append([u, v])
    return pairs, clean


def _conflicts(group: Sequence[int], state: State) -> int:
    return sum(1 for i, a in enumerate(group) for b in group[i + 1 :] if not state.allowed(a, b))


def _history(group: Sequence[int], state: State) -> int:
    return sum(state.cost(a, b) for i, a in enumerate(group) for b in group[i + 1 :])


def _score(group: Sequence[int], state: State, size: int) -> tuple[int, int, int]:
    """(repeated partners, members of an odd group who were in one last round, earlier-session meetings)."""
    rotation = sum(1 for a in group if a in state.last_small) if len(group) != size else 0
    return _conflicts(group, state), rotation, _history(group, state)


def _swap_score(gi: list[int], gj: list[int], state: State, size: int) -> tuple[int, int, int]:
    a, b = _score(gi, state, size), _score(gj, state, size)
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _repair(groups: list[list[int]], state: State, rng: random.Random, size: int, steps: int = 0) -> None:
    """Exchange members between groups until no group has a repeated partner (or the steps run out), then
    lower earlier-session meetings.

    Each step takes a group with a repeat and the best exchange of one of its members with a member of another
    group (all of them for up to :data:`SCAN_GROUPS` groups, else a sample), by (repeats, rotation, earlier
    meetings) of the two groups; an exchange that makes them worse is not made, and a tie is taken half the
    time so the search can move on.
    """
    if len(groups) < 2:
        return
    steps = steps or 20 * len(groups) + 200
    fewest, stalled = None, 0
    for _ in range(steps):
        bad = [i for i, g in enumerate(groups) if _conflicts(g, state)]
        if not bad:
            break
        total = sum(_conflicts(groups[i], state) for i in bad)
        fewest, stalled = (total, 0) if fewest is None or total < fewest else (fewest, stalled + 1)
        if stalled > STALL:  # beyond what exchanges can fix (more rounds than the maximum): keep the fewest
            break
        i = rng.choice(bad)
        gi = groups[i]
        others = [j for j in range(len(groups)) if j != i]
        if len(others) > SCAN_GROUPS:
            others = rng.sample(others, SCAN_GROUPS)
        best: tuple[tuple[int, int, int], int, int, int] | None = None
        for j in others:
            gj = groups[j]
            before = _swap_score(gi, gj, state, size)
            for x in range(len(gi)):
                for y in range(len(gj)):
                    gi[x], gj[y] = gj[y], gi[x]
                    delta = tuple(a - b for a, b in zip(_swap_score(gi, gj, state, size), before, strict=True))
                    gi[x], gj[y] = gj[y], gi[x]
                    if best is None or delta < best[0] or (delta == best[0] and rng.random() < 0.3):
                        best = (delta, j, x, y)  # type: ignore[assignment]
        assert best is not None
        delta, j, x, y = best
        if delta > (0, 0, 0) or (delta == (0, 0, 0) and rng.random() < 0.5):
            continue
        gj = groups[j]
        gi[x], gj[y] = gj[y], gi[x]
    _improve_history(groups, state, rng, size)


def _improve_history(groups: list[list[int]], state: State, rng: random.Random, size: int) -> None:
    """Exchanges that lower earlier-session meetings without a repeat or a rotation cost (a few tries per such
    group; it gives up after :data:`GIVE_UP` failures in a row, as when everyone has met everyone before)."""
    if len(groups) < 2 or not state.before:
        return
    failures = 0
    for i in [k for k, g in enumerate(groups) if _history(g, state)]:
        for _ in range(IMPROVE_TRIES):
            gi = groups[i]
            if not _history(gi, state) or failures > GIVE_UP:
                break
            j = rng.randrange(len(groups))
            if j == i:
                continue
            gj = groups[j]
            x, y = rng.randrange(len(gi)), rng.randrange(len(gj))
            before = _swap_score(gi, gj, state, size)
            gi[x], gj[y] = gj[y], gi[x]
            if _swap_score(gi, gj, state, size) >= before:
                gi[x], gj[y] = gj[y], gi[x]
                failures += 1
            else:
                failures = 0


def _rotation_order(
    people: Iterable[int], counts: Mapping[int, int], last: Set[int], state: State, rng: random.Random
) -> list[int]:
    """People by whose turn it is for the odd group (or to rest): not in it last round, fewest times so far,
    most people left to meet."""
    return sorted(people, key=lambda p: (p in last, counts.get(p, 0), len(state.met.get(p, EMPTY)), rng.random()))


def _odd_pairs_round(people: list[int], state: State, rng: random.Random) -> list[list[int]]:
    """Pairs plus one trio for an odd count: the trio's first member by rotation, then the pair of the matching
    of everyone else that suits them best (not met, not in the last trio, fewest trios, not met before)."""
    candidates = _rotation_order(people, state.small, state.last_small, state, rng)
    best: tuple[tuple[int, ...], list[list[int]]] | None = None
    for x in candidates[:4]:
        rest = [p for p in people if p != x]
        pairs, clean = _matching(rest, state, rng)
        if not clean:
            _repair(pairs, state, rng, 2)
        for i, (a, b) in enumerate(pairs):
            score = (
                (not state.allowed(x, a)) + (not state.allowed(x, b)) + _conflicts([a, b], state),
                (x in state.last_small) + (a in state.last_small) + (b in state.last_small),
                state.small.get(a, 0) + state.small.get(b, 0),
                state.cost(x, a) + state.cost(x, b),
            )
            if best is None or score < best[0]:
                best = (score, [[x, a, b], *pairs[:i], *pairs[i + 1 :]])
        if best is not None and best[0][:2] == (0, 0):
            break
    assert best is not None
    groups = best[1]
    rest = groups[1:]
    _improve_history(rest, state, rng, 2)
    return [groups[0], *rest]


def _trios_round(people: list[int], sizes: list[int], state: State, rng: random.Random) -> list[list[int]]:
    """Trios, and the one or two pairs ``sizes`` asks for (from those whose turn it is), greedily, then repaired."""
    pair_count = sum(1 for s in sizes if s == 2)
    order = _rotation_order(people, state.small, state.last_small, state, rng)
    pool = _Pool(people)
    groups: list[list[int]] = []
    for _ in range(pair_count):
        u = next(p for p in order if p in pool)
        pool.remove(u)
        turn = _Pool([p for p in order if p in pool and p not in state.last_small])
        v = (_partner(u, turn, state, rng) if len(turn) else None) or _partner(u, pool, state, rng)
        v = v if v is not None else pool.pick(rng)
        pool.remove(v)
        groups.append([u, v])
    hardest = sorted(pool.items, key=lambda p: (-len(state.met.get(p, EMPTY)), rng.random()))
    left: list[int] = []
    for u in hardest:
        if u not in pool:
            continue
        pool.remove(u)
        v = _partner(u, pool, state, rng)
        w = _partner(u, pool, state, rng, also=[v]) if v is not None else None
        if v is None or w is None:
            left.append(u)
            continue
        pool.remove(v)
        pool.remove(w)
        groups.append([u, v, w])
    while left:
        groups.append(left[:3])
        left = left[3:]
    _repair(groups, state, rng, 3)
    return groups


def form_round(
    people: Sequence[int], state: State | None = None, *, size: int = 2, trios: bool = True, seed: int = 0
) -> Formed:
    """Groups for one round of ``people`` (ids), given what ``state`` says about earlier rounds and sessions."""
    state = state or State()
    people = list(dict.fromkeys(people))
    sizes = group_sizes(len(people), size, trios)
    rng = random.Random(seed)
    resting: tuple[int, ...] = ()
    if sizes[0] == 1:
        rester = _rotation_order(people, state.rested, state.last_rested, state, rng)[0]
        resting = (rester,)
        people = [p for p in people if p != rester]
    if size == 3:
        groups = _trios_round(people, sizes, state, rng)
    elif len(people) % 2:
        groups = _odd_pairs_round(people, state, rng)
    else:
        groups, clean = _matching(people, state, rng)
        if not clean:
            _repair(groups, state, rng, 2)
        else:
            _improve_history(groups, state, rng, 2)
    groups.sort(key=lambda g: (len(g) == size, min(g)))  # the odd group first, then by id
    return Formed(tuple(tuple(g) for g in groups), resting)


# ---- a whole session for a fixed group ----------------------------------------------------------------------
def circle(n: int) -> list[list[Group]]:
    """The circle method: n − 1 rounds of pairs of seats 0..n-1 (n even) in which every two seats meet once."""
    if n % 2:
        raise ValueError("the circle method is for an even count")
    turning = n - 1
    out = []
    for r in range(turning):
        groups: list[Group] = [(turning, r)]
        groups += [((r + k) % turning, (r - k) % turning) for k in range(1, n // 2)]
        out.append(groups)
    return out


def seat_design(n: int, rounds: int | None = None) -> list[list[Group]] | None:
    """The stored construction for ``n`` people in pairs (seats 0..n-1) for ``rounds`` rounds: the circle, or the
    odd design that suits that many rounds best; ``None`` if there is none."""
    if n % 2 == 0:
        return circle(n)
    found = design(n, rounds)
    return [list(r) for r in found] if found else None


def _seat(people: list[int], rounds: list[list[Group]], state: State, rng: random.Random) -> list[int]:
    """Who sits on each seat of ``rounds``: a random order, improved by swaps while earlier partners meet less."""
    seats = people[:]
    rng.shuffle(seats)
    if not state.before:
        return seats
    n = len(seats)
    mates: list[list[int]] = [[] for _ in range(n)]
    for rnd in rounds:
        for g in rnd:
            for a in g:
                mates[a].extend(b for b in g if b != a)

    def seat_cost(s: int, person: int, skip: int) -> int:
        return sum(state.cost(person, seats[m]) for m in mates[s] if m != skip)

    for _ in range(30 * n):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        a, b = seats[i], seats[j]
        now = seat_cost(i, a, j) + seat_cost(j, b, i)
        then = seat_cost(i, b, j) + seat_cost(j, a, i)
        if then < now:
            seats[i], seats[j] = b, a
    return seats


def wants_plan(n: int, rounds: int, size: int = 2, trios: bool = True) -> bool:
    """Whether a fixed group of ``n`` should follow a stored construction rather than round-by-round matching:
    pairs asked for more rounds than matching guarantees, or an odd count that has a design (which also keeps
    the trio rotating as well as possible, proven for small n)."""
    if size != 2 or not trios or n < 2:
        return False
    return rounds > per_round_safe(n) or (n % 2 == 1 and design(n) is not None)


def plan(
    people: Sequence[int],
    rounds: int,
    state: State | None = None,
    *,
    size: int = 2,
    trios: bool = True,
    seed: int = 0,
) -> list[Formed]:
    """The rounds for a fixed group of ``people`` from a fresh session (``state`` holds only ``before``).

    When :func:`wants_plan`, the stored construction gives as many rounds as it has, and rounds after that are
    formed one by one (a repeat is then unavoidable). Otherwise every round is formed one by one.
    """
    state = (state or State()).copy()
    people = list(dict.fromkeys(people))
    n = len(people)
    rng = random.Random(seed)
    out: list[Formed] = []
    seated = seat_design(n, rounds) if wants_plan(n, rounds, size, trios) else None
    if seated:
        seats = _seat(people, seated[:rounds], state, rng)
        for rnd in seated[:rounds]:
            groups = tuple(tuple(seats[s] for s in g) for g in rnd)
            groups = tuple(sorted(groups, key=lambda g: (len(g) == 2, min(g))))
            out.append(Formed(groups))
            state.record(groups, size=2)
    while len(out) < rounds:
        formed = form_round(people, state, size=size, trios=trios, seed=rng.randrange(2**31))
        out.append(formed)
        state.record(formed.groups, formed.resting, size)
    return out


@dataclass(frozen=True)
class Plan:
    """A session's rounds worked out at its start for a fixed group (kept while the same people take part)."""

    people: tuple[int, ...]
    rounds: tuple[tuple[Group, ...], ...]

    def as_json(self) -> dict:
        """For storing."""
        return {"people": list(self.people), "rounds": [[list(g) for g in r] for r in self.rounds]}

    @classmethod
    def from_json(cls, data: Mapping | None) -> Plan | None:
        """The inverse of :meth:`as_json` (``None`` stays ``None``)."""
        if not data:
            return None
        return cls(tuple(data["people"]), tuple(tuple(tuple(g) for g in r) for r in data["rounds"]))


def next_round(
    present: Sequence[int],
    number: int,
    state: State,
    *,
    rounds: int,
    size: int = 2,
    trios: bool = True,
    seed: int = 0,
    kept: Plan | None = None,
) -> tuple[Formed, Plan | None]:
    """Round ``number`` of a session of ``rounds`` rounds for those ``present``, and the plan to keep.

    The kept plan is followed while exactly its people take part (once anyone joins or leaves it is dropped for
    good: its later rounds assume the earlier ones). Round 1 of pairs makes a plan when more rounds are asked
    than one-by-one matching guarantees (:func:`per_round_safe`). Otherwise the round is formed on its own.
    """
    ordered = tuple(sorted(set(present)))
    if kept is not None and kept.people == ordered and number <= len(kept.rounds):
        return Formed(kept.rounds[number - 1]), kept
    if number == 1 and wants_plan(len(ordered), rounds, size, trios):
        planned = plan(ordered, rounds, state, size=size, trios=trios, seed=seed)
        return planned[0], Plan(ordered, tuple(f.groups for f in planned))
    return form_round(ordered, state, size=size, trios=trios, seed=seed * 1000 + number), None


def repeats(rounds: Iterable[Iterable[Group]]) -> int:
    """How many times two people met again in ``rounds`` (each further meeting of a pair counts once)."""
    seen: set[tuple[int, int]] = set()
    count = 0
    for groups in rounds:
        for g in groups:
            for i, a in enumerate(g):
                for b in g[i + 1 :]:
                    key = (a, b) if a < b else (b, a)
                    if key in seen:
                        count += 1
                    seen.add(key)
    return count


__all__ = [
    "MAX_ROUNDS",
    "Formed",
    "Group",
    "Plan",
    "State",
    "circle",
    "form_round",
    "group_sizes",
    "maximum_rounds",
    "next_round",
    "per_round_safe",
    "plan",
    "repeat_free_rounds",
    "repeats",
    "seat_design",
]
