"""re: regular-expression matching in C that holds the GIL throughout.

``re``'s matching engine (``_sre``) never releases the GIL (it reads a Python str in place and
makes match objects), so threads searching text take turns on a GIL build. The pattern finds the
numbers and e-mail-like addresses of the shared made-up-word corpus (``_corpus``, ~350,000
characters, made once per process before the timed batches); the corpus knows which of its tokens those are, so the
count is checked against it in the tests.

Sizing (CPython 3.11, one core of a 2020s x86-64 Xeon, ``time.perf_counter``): one ``finditer`` pass
takes ~7.5 ms, so the default 8 rounds take ~60 ms.
"""

from __future__ import annotations

import re

from . import _corpus
from .workload import Workload

TOKENS = 48_000


def text() -> str:
    """The text searched: the corpus's tokens joined by spaces (cached by ``_corpus``; the workload's
    ``prepare``: built before the timed batches, never at import)."""
    return _corpus.text(TOKENS)


#: an address (letters@letters.org) or a whole number
PATTERN = re.compile(r"\b[a-z]+@[a-z]+\.org\b|\b\d+\b")


def count_matches(n: int, rounds: int = 8) -> int:
    """Count the pattern's matches in the text with ``finditer``, ``rounds`` times; the count of one pass
    (after checking that every pass found the same number)."""
    searched = text()
    counts = {sum(1 for _ in PATTERN.finditer(searched)) for _ in range(rounds)}
    if len(counts) != 1:
        raise ValueError(f"passes over the same text found different counts: {sorted(counts)}")
    return counts.pop()


RE = Workload(
    name="re",
    kind="cpu-bound",
    func=count_matches,
    params={"rounds": 8},
    size_param="rounds",
    prepare=text,
    description="rounds x a compiled re pattern's finditer over ~350,000 characters of text: C code that "
    "holds the GIL (expected not to scale in threads)",
)
