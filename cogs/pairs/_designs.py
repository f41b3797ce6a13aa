"""Stored schedules for an odd number of people in pairs with one trio (see docs/pairs.md, "Odd counts").

For an even count the circle method gives n − 1 rounds with no repeated partner; nothing needs storing. For an
odd count with one trio per round no simple construction reaches the maximum: each round has (n + 3) / 2 pairs of
people meeting, so at most ⌊n(n − 1)/(n + 3)⌋ rounds fit (n − 4 from n = 11 on), and exhaustive search shows
the true maxima for small n are lower (1 for n = 5, 3 for n = 7, 6 for n = 9). The designs in ``designs.txt`` were
found once, for every odd n from 7 to 77 with ``min(maximum, MAX_ROUNDS)`` rounds, by the local search below
(``python -m cogs.pairs._designs``; n = 9 by exhaustive search): no pair meets twice, and the trio overlaps the
previous round's trio as little as possible (never from n = 11 on; :data:`MIN_OVERLAP` lists what exhaustive
search proves unavoidable for n = 7 and 9, where a second, shorter design keeps 4 rounds free of overlap).
``tests/cogs/pairs/test_designs.py`` checks every stored design.

Each line: ``n rounds overlap:`` then one word per round; a word lists the n seats as characters of
:data:`ALPHABET` (a person number each): the first three form the trio, then each two a pair.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from functools import cache
from importlib import resources

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&*+-./:;<=>?@^_~"
MAX_STORED_N = 77
MAX_ROUNDS = 20
DATA = "designs.txt"
# The least total trio overlap that no repeated pair allows, where it is not 0: (n, rounds) -> overlap, from
# exhaustive search (n = 7: 2 rounds need 1, 3 need 2; n = 9: 4 rounds can have none, 5 and 6 need 1).
MIN_OVERLAP = {(7, 2): 1, (7, 3): 2, (9, 5): 1, (9, 6): 1}


def min_overlap(n: int, rounds: int) -> int:
    """The least total trio overlap over ``rounds`` rounds of ``n`` people with no repeated pair."""
    return MIN_OVERLAP.get((n, rounds), 0)


def odd_maximum(n: int) -> int:
    """The most rounds n people (n odd) can meet in pairs plus one trio with no pair meeting twice."""
    if n < 3 or n % 2 == 0:
        raise ValueError("odd_maximum is for an odd number of people, at least 3")
    return {3: 1, 5: 1, 7: 3, 9: 6}.get(n, n - 4)


@cache
def stored() -> dict[int, list[tuple[tuple[tuple[int, ...], ...], ...]]]:
    """Every stored design by n, shortest first: rounds of groups (the trio first) over seats ``0 .. n-1``."""
    text = resources.files(__package__).joinpath(DATA).read_text(encoding="ascii")
    out: dict[int, list[tuple[tuple[tuple[int, ...], ...], ...]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, _, body = line.partition(":")
        n = int(head.split()[0])
        out.setdefault(n, []).append(tuple(_groups([ALPHABET.index(c) for c in word]) for word in body.split()))
    for designs in out.values():
        designs.sort(key=len)
    return out


def design(n: int, rounds: int | None = None) -> tuple[tuple[tuple[int, ...], ...], ...] | None:
    """The stored schedule for ``n`` people (odd, 7..77): the shortest with at least ``rounds`` rounds (its first
    rounds are then as good as a design of that length), else the longest; ``None`` if there is none."""
    found = stored().get(n)
    if not found:
        return None
    return next((d for d in found if rounds is not None and len(d) >= rounds), found[-1])


def _groups(slots: list[int]) -> tuple[tuple[int, ...], ...]:
    return (tuple(slots[:3]), *(tuple(slots[i : i + 2]) for i in range(3, len(slots), 2)))


# ---- the search that produced designs.txt (run once, offline) ------------------------------------------
def search(n: int, rounds: int, target_overlap: int, seed: int = 0, budget: float = 1800.0) -> list[list[int]] | None:
    """Simulated annealing over ``rounds`` rounds of seats: a repeated pair and a trio overlap cost 1 each."""
    rng = random.Random(seed)
    perms = [rng.sample(range(n), n) for _ in range(rounds)]
    where = [[0] * n for _ in range(rounds)]
    for r, p in enumerate(perms):
        for s, x in enumerate(p):
            where[r][x] = s

    def group(slot: int) -> int:
        return 0 if slot < 3 else 1 + (slot - 3) // 2

    def members(p: list[int], g: int) -> list[int]:
        return p[0:3] if g == 0 else p[3 + 2 * (g - 1) : 5 + 2 * (g - 1)]

    def edges(grp: list[int]) -> list[int]:
        return [min(a, b) * n + max(a, b) for i, a in enumerate(grp) for b in grp[i + 1 :]]

    def overlap(r: int) -> int:
        if r < 0 or r + 1 >= rounds:
            return 0
        return len(set(perms[r][0:3]) & set(perms[r + 1][0:3]))

    count: dict[int, int] = {}
    for p in perms:
        for g in range(1 + (n - 3) // 2):
            for e in edges(members(p, g)):
                count[e] = count.get(e, 0) + 1
    conflicts = sum(c - 1 for c in count.values() if c > 1)
    over = sum(overlap(r) for r in range(rounds - 1))
    temperature, started, step = 1.0, time.monotonic(), 0
    while conflicts > 0 or over > target_overlap:
        step += 1
        if step % 20000 == 0:
            if time.monotonic() - started > budget:
                return None
            temperature = max(0.08, temperature * 0.97)
        r = rng.randrange(rounds)
        p, w = perms[r], where[r]
        u, v = rng.randrange(n), rng.randrange(n)
        su, sv = w[u], w[v]
        gu, gv = group(su), group(sv)
        if gu == gv:
            continue
        trio = gu == 0 or gv == 0
        old = edges(members(p, gu)) + edges(members(p, gv))
        old_over = overlap(r - 1) + overlap(r) if trio else 0
        delta_conflicts = 0
        for e in old:
            count[e] -= 1
            delta_conflicts -= count[e] >= 1
        p[su], p[sv], w[u], w[v] = v, u, sv, su
        new = edges(members(p, gu)) + edges(members(p, gv))
        for e in new:
            delta_conflicts += count.get(e, 0) >= 1
            count[e] = count.get(e, 0) + 1
        delta_over = (overlap(r - 1) + overlap(r) if trio else 0) - old_over
        delta = delta_conflicts + delta_over
        if delta <= 0 or rng.random() < math.exp(-delta / temperature):
            conflicts += delta_conflicts
            over += delta_over
        else:
            for e in new:
                count[e] -= 1
            p[su], p[sv], w[u], w[v] = u, v, su, sv
            for e in old:
                count[e] += 1
    return perms


def main() -> None:
    """Search every odd n in a range and append the designs found to a file (``designs.txt`` by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=7)
    parser.add_argument("--last", type=int, default=MAX_STORED_N)
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds per n")
    parser.add_argument("--out", default=f"cogs/pairs/{DATA}")
    args = parser.parse_args()
    for n in range(args.first | 1, args.last + 1, 2):
        rounds = min(odd_maximum(n), MAX_ROUNDS)
        target = min_overlap(n, rounds)
        started = time.monotonic()
        found = None
        for seed in range(20):
            found = search(n, rounds, target, seed=seed, budget=args.budget)
            if found is not None:
                break
        took = time.monotonic() - started
        if found is None:
            print(f"n={n}: nothing found in {took:.0f} s", flush=True)
            continue
        words = " ".join("".join(ALPHABET[x] for x in p) for p in found)
        with open(args.out, "a", encoding="ascii") as out:
            out.write(f"{n} {rounds} {target}: {words}\n")
        print(f"n={n}: {rounds} rounds in {took:.1f} s", flush=True)


if __name__ == "__main__":
    main()
