"""A deterministic, text-like corpus shared by the compression and regex workloads.

Real text compresses and matches differently from random or repeated bytes: a short repeated chunk
lets zlib copy it back from its 32 KiB window (far too easy), random bytes do not compress at all.
So the corpus is made-up words of a few syllables drawn with Zipf-like weights, with numbers and
e-mail-like tokens mixed in and some words ending a sentence or a clause. It is made from a seeded
``random.Random`` in a few milliseconds (``random.choices`` and one join, no per-word Python loop),
so that importing a workload module stays cheap: every gilbench command imports them all.
"""

from __future__ import annotations

import functools
import random

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "qua", "ven", "dor", "el", "ix", "um", "bra", "tes")
#: distinct words, numbers and addresses the tokens are drawn from
WORDS, NUMBERS, ADDRESSES = 2000, 300, 100
#: copies of the most frequent token in the urn tokens are drawn from (about 20,000 entries in all)
URN_SCALE = 3000


def is_number(token: str) -> bool:
    """A number token: digits only."""
    return token.isdigit()


def is_address(token: str) -> bool:
    """An e-mail-like token: lowercase letters, @, lowercase letters, ".org"."""
    name, at, domain = token.partition("@")
    return bool(at) and name.isalpha() and domain.endswith(".org") and domain[:-4].isalpha()


@functools.lru_cache(maxsize=4)
def tokens(count: int, seed: int = 0) -> tuple[str, ...]:
    """``count`` tokens: words (most, some ending in "." or ","), numbers and addresses; the same for a seed."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(WORDS)]
    numbers = [str(rng.randrange(10 ** rng.randint(1, 7))) for _ in range(NUMBERS)]
    addresses = [f"{rng.choice(words)}@{rng.choice(words)}.org" for _ in range(ADDRESSES)]
    vocabulary = words + [w + "." for w in words[:200]] + [w + "," for w in words[:200]] + numbers + addresses
    # Zipf-like: the k-th entry drawn with weight about 1/(k+10), numbers and addresses spread among the
    # words; an urn with that many copies of each, as weighted choices (a bisection per token) is slower
    rng.shuffle(vocabulary)
    urn: list[str] = []
    for k, token in enumerate(vocabulary):
        urn += [token] * max(1, round(URN_SCALE / (k + 10)))
    return tuple(rng.choices(urn, k=count))


@functools.lru_cache(maxsize=4)
def text(count: int, seed: int = 0) -> str:
    """The tokens joined by single spaces."""
    return " ".join(tokens(count, seed))
