"""Rotating pairs: how fast a round is formed, and how well partners are kept new.

    .venv/bin/python bench/pairing.py [--n 10 100 1000 5000] [--sessions 10] [--runs 3]

For each n (people in pairs, trios for odd counts):

* **ms/round**: the time :func:`cogs.pairs.grouping.form_round` takes for one round in the middle of a
  session (rounds 6 to 10, with the earlier sessions' history below), the median of those rounds over ``--runs``
  runs;
  **ref ms** is the same n shuffled and cut into pairs with no rule at all, measured in the same run, and
  **ratio** the one over the other (goal: 50 ms or less at n = 5,000);
* **in-session repeats**: pairs meeting twice within one session of ``min(n − 1, 20)`` rounds of a fixed group,
  formed as the bot does (:func:`cogs.pairs.grouping.next_round`; goal 0);
* **across sessions**: ``--sessions`` sessions of that many rounds in a row, each avoiding the pairs of the
  earlier ones: the pairs that had met in an earlier session, against the **lower bound**
  ``max(0, Σ pairs met per session − n(n − 1)/2)`` (there are only so many distinct pairs).

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
        formed += len(pairs)
        repeated += len(pairs & seen)
        seen |= pairs
        for a, b in pairs:
            before.setdefault(a, set()).add(b)
            before.setdefault(b, set()).add(a)
    bound = max(0, formed - n * (n - 1) // 2)
    return repeated, bound, first_session_repeats, before


def timed_rounds(n: int, before: dict[int, set[int]], seed: int, count: int = 5) -> tuple[list[float], list[float]]:
    """ms for each of ``count`` rounds mid-session (after WARM_ROUNDS rounds) with ``before``, and for the
    no-rules reference (shuffle and cut into pairs) of the same n."""
    people = list(range(n))
    state = State(before=before)
    for r in range(WARM_ROUNDS):
        state.record(form_round(people, state, seed=seed + r).groups)
    times, refs = [], []
    rng = random.Random(seed)
    for r in range(count):
        started = time.perf_counter()
        formed = form_round(people, state, seed=seed + WARM_ROUNDS + r)
        times.append((time.perf_counter() - started) * 1000)
        state.record(formed.groups)
        started = time.perf_counter()
        order = people[:]
        rng.shuffle(order)
        [tuple(order[i : i + 2]) for i in range(0, n - n % 2, 2)]
        refs.append((time.perf_counter() - started) * 1000)
    return times, refs


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
            took, ref = timed_rounds(n, before, args.seed + 100 * run)
            times += took
            refs += ref
        ms, ref = statistics.median(times), statistics.median(refs)
        print(
            f"| {n:,} | {rounds} | {ms:.1f} | {ref:.2f} | {ms / ref:.0f} | {inside} | {repeated:,} | {bound:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
