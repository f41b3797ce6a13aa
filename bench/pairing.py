"""Rotating pairs: how fast a round is formed, and how well partners are kept new.

    .venv/bin/python bench/pairing.py [--n 10 100 1000 5000] [--sessions 10] [--runs 3]

For each n (people in pairs, trios for odd counts):

* **ms/round**: the time :func:`cogs.pairs.grouping.form_round` takes for one round in the middle of a
  session (after 5 rounds, with 10 earlier sessions of history), the median over the rounds of ``--runs`` runs;
  **ref ms** is the same n shuffled and cut into pairs with no rule at all, measured in the same run, and
  **ratio** the one over the other (goal: 50 ms or less at n = 5,000);
* **in-session repeats**: pairs meeting twice within one session of ``min(n − 1, 20)`` rounds of a fixed group,
  formed as the bot does (:func:`cogs.pairs.grouping.next_round`; goal 0);
* **across sessions**: ``--sessions`` sessions of that many rounds in a row, each avoiding the pairs of the
  earlier ones: the pairs that had met in an earlier session, against the **lower bound**
  ``max(0, pairs formed in all sessions − n(n − 1)/2)`` (there are only so many distinct pairs).

Measured on a shared 2-core machine: times are noisy; the repeat counts are exact (the seed is fixed).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cogs.pairs.grouping import State, form_round, next_round, repeats

WARM_ROUNDS = 5


def session(
    people: list[int], rounds: int, before: dict[int, set[int]], seed: int
) -> list[tuple[tuple[int, ...], ...]]:
    """One session of a fixed group, as the bot forms it; its rounds."""
    state = State(before=before)
    kept = None
    out = []
    for number in range(1, rounds + 1):
        formed, kept = next_round(people, number, state, rounds=rounds, seed=seed, kept=kept)
        state.record(formed.groups)
        out.append(formed.groups)
    return out


def pairs_of(rounds: list[tuple[tuple[int, ...], ...]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for groups in rounds for g in groups for i, a in enumerate(g) for b in g[i + 1 :]}


def across(n: int, rounds: int, sessions: int, seed: int) -> tuple[int, int, int, dict[int, set[int]]]:
    """``sessions`` sessions in a row: (repeats of earlier sessions' pairs, lower bound, in-session repeats of
    the first session, the history they leave)."""
    people = list(range(n))
    before: dict[int, set[int]] = {}
    seen: set[tuple[int, int]] = set()
    repeated = formed = 0
    first_session_repeats = 0
    for s in range(sessions):
        played = session(people, rounds, before, seed + s)
        if s == 0:
            first_session_repeats = repeats(played)
        pairs = pairs_of(played)
        formed += sum(len(g) * (len(g) - 1) // 2 for groups in played for g in groups)
        repeated += len(pairs & seen)
        seen |= pairs
        for a, b in pairs:
            before.setdefault(a, set()).add(b)
            before.setdefault(b, set()).add(a)
    bound = max(0, formed - n * (n - 1) // 2)
    return repeated, bound, first_session_repeats, before


def timed_round(n: int, before: dict[int, set[int]], seed: int) -> tuple[float, float]:
    """ms for one round mid-session (after WARM_ROUNDS rounds) with ``before``; and the no-rules reference."""
    people = list(range(n))
    state = State(before=before)
    for r in range(WARM_ROUNDS):
        state.record(form_round(people, state, seed=seed + r).groups)
    started = time.perf_counter()
    form_round(people, state, seed=seed + WARM_ROUNDS)
    took = time.perf_counter() - started
    rng = random.Random(seed)
    started = time.perf_counter()
    order = people[:]
    rng.shuffle(order)
    [tuple(order[i : i + 2]) for i in range(0, n - n % 2, 2)]
    reference = time.perf_counter() - started
    return took * 1000, reference * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    header = (
        "| n | rounds | ms/round | ref ms | ratio | in-session repeats | "
        f"repeats across {args.sessions} sessions | lower bound |"
    )
    print(header)
    print("|" + "---|" * 8)
    for n in args.n:
        rounds = min(n - 1, 20)
        repeated, bound, inside, before = across(n, rounds, args.sessions, args.seed)
        times, refs = [], []
        for run in range(args.runs):
            took, ref = timed_round(n, before, args.seed + 100 * run)
            times.append(took)
            refs.append(ref)
        ms, ref = statistics.median(times), statistics.median(refs)
        print(
            f"| {n:,} | {rounds} | {ms:.1f} | {ref:.2f} | {ms / ref:.0f} | {inside} | {repeated:,} | {bound:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
