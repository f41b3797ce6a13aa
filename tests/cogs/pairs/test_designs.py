"""The stored designs for odd counts, the circle method, and the small-n maxima they rest on."""

from __future__ import annotations

import itertools

import pytest

from cogs.pairs._designs import MAX_ROUNDS, MAX_STORED_N, min_overlap, odd_maximum, stored
from cogs.pairs.grouping import circle, maximum_rounds, repeat_free_rounds, repeats


@pytest.mark.parametrize("n", range(7, MAX_STORED_N + 1, 2))
def test_every_odd_count_up_to_77_has_a_design_of_the_most_rounds_possible(n):
    designs = stored()[n]
    longest = designs[-1]
    assert len(longest) == min(odd_maximum(n), MAX_ROUNDS)
    for design in designs:
        for groups in design:
            seats = [s for g in groups for s in g]
            assert sorted(seats) == list(range(n))  # everyone, once
            assert len(groups[0]) == 3 and all(len(g) == 2 for g in groups[1:])
        assert repeats(design) == 0
        trios = [set(groups[0]) for groups in design]
        overlap = sum(len(a & b) for a, b in itertools.pairwise(trios))
        assert overlap == min_overlap(n, len(design))


@pytest.mark.parametrize("n", range(2, 41, 2))
def test_the_circle_method_gives_n_minus_1_rounds_without_a_repeat(n):
    rounds = circle(n)
    assert len(rounds) == n - 1 == maximum_rounds(n)
    assert repeats(rounds) == 0
    assert all(sorted(s for g in r for s in g) == list(range(n)) for r in rounds)


def factors(n: int, used: frozenset) -> list[tuple[frozenset, set]]:
    """Every round of n people (odd) as one trio plus pairs that uses no pair in ``used``."""
    out = []

    def matchings(rest: list[int], acc: list) -> None:
        if not rest:
            out.append(list(acc))
            return
        a = rest[0]
        for b in rest[1:]:
            if (a, b) not in used:
                acc.append((a, b))
                matchings([x for x in rest if x not in (a, b)], acc)
                acc.pop()

    found = []
    for trio in itertools.combinations(range(n), 3):
        edges = set(itertools.combinations(trio, 2))
        if edges & used:
            continue
        out.clear()
        matchings([x for x in range(n) if x not in trio], [])
        found += [(frozenset(trio), edges | set(m)) for m in out]
    return found


def most_rounds(n: int) -> int:
    """The most rounds without a repeated pair, by exhaustive search (the first round fixed by symmetry)."""
    best = 0

    def search(used: frozenset, depth: int) -> None:
        nonlocal best
        best = max(best, depth)
        options = factors(n, used)
        for _trio, edges in options[:1] if depth == 0 else options:
            search(used | edges, depth + 1)

    search(frozenset(), 0)
    return best


@pytest.mark.parametrize(("n", "expected"), [(3, 1), (5, 1), (7, 3)])
def test_small_odd_maxima_by_exhaustive_search(n, expected):
    assert most_rounds(n) == expected == odd_maximum(n)


def test_the_counting_bound_is_reached_from_9_on():
    # Each round of pairs plus a trio has (n + 3) / 2 meetings; K_n has n(n - 1) / 2 pairs.
    for n in range(9, MAX_STORED_N + 1, 2):
        assert odd_maximum(n) == n * (n - 1) // (n + 3)
        if odd_maximum(n) <= MAX_ROUNDS:
            assert len(stored()[n][-1]) == odd_maximum(n)  # reached by the stored design


def test_guaranteed_rounds_for_a_fixed_group_of_pairs():
    assert repeat_free_rounds(10) == 9
    assert repeat_free_rounds(9) == 6
    assert repeat_free_rounds(5) == 1
    assert repeat_free_rounds(23) == 19
    assert repeat_free_rounds(101) == 25  # beyond the stored designs: per-round matching, (n + 1) / 4 rounds


def least_overlap(n: int, rounds: int) -> int | None:
    """The least total trio overlap of ``rounds`` repeat-free rounds (exhaustive; ``None`` if none exist)."""
    best: int | None = None

    def search(used: frozenset, previous: frozenset | None, depth: int, overlap: int) -> None:
        nonlocal best
        if best is not None and overlap >= best:
            return
        if depth == rounds:
            best = overlap
            return
        options = factors(n, used)
        for trio, edges in options[:1] if depth == 0 else options:
            search(used | edges, trio, depth + 1, overlap + (len(trio & previous) if previous else 0))

    search(frozenset(), None, 0, 0)
    return best


@pytest.mark.parametrize("rounds", [2, 3])
def test_with_seven_people_someone_must_be_in_the_trio_twice_in_a_row(rounds):
    assert least_overlap(7, rounds) == min_overlap(7, rounds) > 0
