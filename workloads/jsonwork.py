"""json: serialisation in C that holds the GIL throughout, the case C code does not rescue.

The ``json`` accelerator (``_json``) builds and parses Python objects, which needs the GIL for every
object it touches, so threads doing json round trips take turns on a GIL build just as pure-Python
code does. The document is a nested one (a list of 1,000 records with strings, ints, floats, bools,
None, a nested object and lists), about 220 KB of JSON, made once per process before the timed batches (``prepare``).

Sizing (CPython 3.11, one core of a 2020s x86-64 Xeon, ``time.perf_counter``): one ``dumps`` plus
``loads`` round trip takes ~5 ms, so the default 12 rounds take ~60 ms (plus ~1 ms for the final
comparison).
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from .workload import Workload


def make_document(records: int = 1000, seed: int = 0) -> dict[str, Any]:
    """A nested document of ``records`` user-like records; the same for a seed (floats round-trip exactly)."""
    rng = random.Random(seed)
    return {
        "version": 1,
        "users": [
            {
                "id": i,
                "name": f"user{i}",
                "score": rng.random(),
                "active": rng.random() < 0.5,
                "bio": None,
                "tags": [f"t{rng.randrange(50)}" for _ in range(5)],
                "address": {"city": f"c{rng.randrange(100)}", "zip": rng.randrange(10**5),
                            "geo": [rng.uniform(-90, 90), rng.uniform(-180, 180)]},
            }
            for i in range(records)
        ],
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document every round trips, made once per process (the workload's ``prepare``: before the timed
    batches, never at import)."""
    return make_document()


def json_round_trips(n: int, rounds: int = 12) -> int:
    """``json.dumps`` then ``json.loads`` of the document, ``rounds`` times; the JSON text's length, after
    checking that the last round trip gave back an equal document."""
    text, back, original = "", None, document()
    for _ in range(rounds):
        text = json.dumps(original)
        back = json.loads(text)
    if back != original:
        raise ValueError("json round trip changed the document")
    return len(text)


JSON = Workload(
    name="json",
    kind="cpu-bound",
    func=json_round_trips,
    params={"rounds": 12},
    size_param="rounds",
    prepare=document,
    description="rounds x json.dumps + json.loads of a ~220 KB nested document: C code that holds the GIL "
    "(expected not to scale in threads)",
)
