"""Property tests of the grouping (hypothesis): n from 2 to 200, up to 20 rounds, pairs or trios, with and
without earlier sessions' history, with and without people joining and leaving between rounds.

* everyone present is placed in every round, in groups of 2 or 3 (one person rests only with trios off);
* no repeated partner within a session for as many rounds as that is possible: a fixed group of pairs up to
  :func:`maximum_rounds` (n − 1 for even n; the stored designs for odd n); trios up to ``n // 4`` rounds;
  with joins and leaves, every round in which everyone present still has half of the others left to meet
  (Dirac's condition, under which a repeat-free round always exists and the matching finds it);
* the odd group rotates: nobody is in the trio twice in a row when that can be avoided.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cogs.pairs._designs import min_overlap
from cogs.pairs.grouping import (
    MAX_ROUNDS,
    Formed,
    Plan,
    State,
    maximum_rounds,
    next_round,
    repeats,
)

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_history(people: list[int], seed: int, sessions: int = 3) -> dict[int, set[int]]:
    """Who met whom in a few earlier sessions of random pairs."""
    rng = random.Random(seed)
    before: dict[int, set[int]] = {}
    for _ in range(sessions * 3):
        order = people[:]
        rng.shuffle(order)
        for a, b in zip(order[::2], order[1::2], strict=False):
            before.setdefault(a, set()).add(b)
            before.setdefault(b, set()).add(a)
    return before


@dataclass
class Played:
    """A simulated session: each round's people present and what was formed."""

    present: list[list[int]] = field(default_factory=list)
    formed: list[Formed] = field(default_factory=list)
    dirac: list[bool] = field(default_factory=list)  # whether Dirac's condition held before each round


def dirac_holds(present: list[int], state: State) -> bool:
    """Everyone present has at least half of the others (rounded up, odd counts one more) left to meet."""
    n = len(present)
    here = set(present)
    need = n // 2 if n % 2 == 0 else (n + 1) // 2
    return all(len(here - state.met.get(p, set()) - {p}) >= need for p in present)


def simulate(
    n: int, rounds: int, size: int, seed: int, *, history: bool, changes: list[tuple[int, str, int]] = ()
) -> Played:
    """Run a session through :func:`next_round` as the engine does; ``changes`` are (round, join|leave, pick)."""
    people = list(range(1, n + 1))
    newcomers = iter(range(10_001, 20_000))
    state = State(before=random_history(people + list(range(10_001, 10_050)), seed) if history else {})
    kept: Plan | None = None
    played = Played()
    present = people[:]
    for number in range(1, rounds + 1):
        for when, what, pick in changes:
            if when != number or number == 1:
                continue
            if what == "join":
                present.append(next(newcomers))
            elif len(present) > 2:
                present.remove(present[pick % len(present)])
        played.dirac.append(dirac_holds(present, state))
        formed, kept = next_round(present, number, state, rounds=rounds, size=size, seed=seed, kept=kept)
        played.present.append(present[:])
        played.formed.append(formed)
        state.record(formed.groups, formed.resting, size)
    return played


def pairs_in(formed: Formed) -> list[tuple[int, int]]:
    return [(a, b) for g in formed.groups for i, a in enumerate(g) for b in g[i + 1 :]]


changes_strategy = st.lists(
    st.tuples(st.integers(2, MAX_ROUNDS), st.sampled_from(["join", "leave"]), st.integers(0, 10**6)), max_size=8
)


@PROPERTY
@given(
    n=st.integers(2, 200),
    rounds=st.integers(1, MAX_ROUNDS),
    size=st.sampled_from([2, 3]),
    seed=st.integers(0, 2**31 - 1),
    history=st.booleans(),
    changes=changes_strategy,
)
def test_everyone_present_is_placed_in_groups_of_two_or_three(n, rounds, size, seed, history, changes):
    played = simulate(n, rounds, size, seed, history=history, changes=changes)
    for present, formed in zip(played.present, played.formed, strict=True):
        placed = [p for g in formed.groups for p in g]
        assert sorted(placed) == sorted(present)  # everyone, once (trios_for_odd is on: nobody rests)
        assert not formed.resting
        assert all(len(g) in (2, 3) for g in formed.groups)
        assert sum(1 for g in formed.groups if len(g) != size) <= 2


@PROPERTY
@given(
    n=st.integers(2, 200),
    rounds=st.integers(1, MAX_ROUNDS),
    seed=st.integers(0, 2**31 - 1),
    history=st.booleans(),
)
def test_a_fixed_group_of_pairs_never_repeats_a_partner_up_to_the_maximum(n, rounds, seed, history):
    rounds = min(rounds, maximum_rounds(n, 2))
    played = simulate(n, rounds, 2, seed, history=history)
    assert repeats(f.groups for f in played.formed) == 0


@PROPERTY
@given(
    n=st.integers(6, 200),
    rounds=st.integers(1, MAX_ROUNDS),
    seed=st.integers(0, 2**31 - 1),
    history=st.booleans(),
)
def test_a_fixed_group_of_trios_never_repeats_a_partner_for_n_over_4_rounds(n, rounds, seed, history):
    rounds = min(rounds, max(1, n // 4))
    played = simulate(n, rounds, 3, seed, history=history)
    assert repeats(f.groups for f in played.formed) == 0


@PROPERTY
@given(
    n=st.integers(2, 200),
    rounds=st.integers(2, MAX_ROUNDS),
    seed=st.integers(0, 2**31 - 1),
    history=st.booleans(),
    changes=changes_strategy.filter(bool),
)
def test_with_joins_and_leaves_no_repeat_while_a_repeat_free_round_is_guaranteed(n, rounds, seed, history, changes):
    played = simulate(n, rounds, 2, seed, history=history, changes=changes)
    met: set[tuple[int, int]] = set()
    for formed, guaranteed in zip(played.formed, played.dirac, strict=True):
        pairs = {(min(a, b), max(a, b)) for a, b in pairs_in(formed)}
        if guaranteed:
            assert not pairs & met
        met |= pairs


def trio_overlaps(played: Played) -> list[int]:
    trios = [next((set(g) for g in f.groups if len(g) == 3), set()) for f in played.formed]
    return [len(a & b) for a, b in itertools.pairwise(trios)]


@PROPERTY
@given(
    n=st.integers(2, 100).map(lambda k: 2 * k + 1),
    rounds=st.integers(2, MAX_ROUNDS),
    seed=st.integers(0, 2**31 - 1),
    history=st.booleans(),
)
def test_the_trio_rotates(n, rounds, seed, history):
    rounds = min(rounds, maximum_rounds(n, 2))
    played = simulate(n, rounds, 2, seed, history=history)
    overlaps = trio_overlaps(played)
    if n == 5:  # 3 of 5 in the trio: one of them was in the last trio, always
        assert all(o == 1 for o in overlaps)
    elif min_overlap(n, rounds):
        assert sum(overlaps) <= min_overlap(n, rounds)  # proven unavoidable (exhaustive search)
    elif n > 5:
        assert overlaps == [0] * len(overlaps)  # nobody in the trio twice in a row


@PROPERTY
@given(
    n=st.integers(5, 200).filter(lambda k: k % 3 != 0),
    rounds=st.integers(2, MAX_ROUNDS),
    seed=st.integers(0, 2**31 - 1),
)
def test_the_pairs_among_trios_rotate(n, rounds, seed):
    rounds = min(rounds, max(1, n // 4))
    played = simulate(n, rounds, 3, seed, history=False)
    small = [{p for g in f.groups if len(g) == 2 for p in g} for f in played.formed]
    in_pairs = len(small[0])
    for a, b in itertools.pairwise(small):
        assert len(a & b) == max(0, 2 * in_pairs - n)  # nobody in a pair twice in a row when avoidable
