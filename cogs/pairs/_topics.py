"""Disagreement topics: normalising, "near-identical" (rapidfuzz), and picking a suggestion from the topic bank.

Two topics are the same disagreement when their normalised texts (case, accents' forms, punctuation and spacing
ignored) are equal, or when rapidfuzz's ``token_sort_ratio`` of them is at least :data:`NEAR` (word order is
ignored, so "cats are better than dogs" and "dogs are better than cats" are one disagreement, and a small edit,
"cats are better pets than dogs", does not make a new one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process

NEAR = 85
MIN_CHARS = 8
MAX_CHARS = 200
_NOT_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Lower case (casefold), compatibility forms folded, punctuation dropped, single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).replace("_", " ").split())


def same(a: str, b: str) -> bool:
    """Whether two normalised topics are the same disagreement (equal, or near-identical)."""
    return a == b or fuzz.token_sort_ratio(a, b) >= NEAR


def first_same(normalized: str, earlier: Iterable[str]) -> int | None:
    """The index of the first of ``earlier`` (normalised) that is the same disagreement, if any."""
    for i, other in enumerate(earlier):
        if same(normalized, other):
            return i
    return None


def ruled_out(bank: Sequence[str], topics: Iterable[str]) -> dict[str, set[int]]:
    """For each normalised topic, the indices of the bank's topics it makes used (the same disagreement)."""
    normal_bank = [normalize(t) for t in bank]
    out: dict[str, set[int]] = {}
    for topic in set(topics):
        matches = process.extract(topic, normal_bank, scorer=fuzz.token_sort_ratio, score_cutoff=NEAR, limit=None)
        out[topic] = {index for _choice, _score, index in matches}
    return out


def pick(bank: Sequence[str], blocked: set[int], suggested: set[str], offset: int = 0) -> str | None:
    """A bank topic not in ``blocked`` (indices), preferring one not ``suggested`` to these people before;
    ``offset`` spreads groups over the bank. ``None`` if every topic is blocked."""
    if not bank:
        return None
    order = [(offset + k) % len(bank) for k in range(len(bank))]
    free = [i for i in order if i not in blocked]
    fresh = [i for i in free if bank[i] not in suggested]
    chosen = (fresh or free or [None])[0]
    return None if chosen is None else bank[chosen]
