"""The GIL's state in this process, and whether it is the state PYTHON_GIL asked for.

Standard library only: measured cells and experiment children both check it before and after they
measure (a free-threaded build re-enables the GIL, with only a warning, when it imports an extension
that does not declare free-threading support), and neither should pay for more imports than this.
"""

from __future__ import annotations

import os
import sys

__all__ = ["gil_enabled", "mismatch"]


def gil_enabled() -> bool:
    """Whether the GIL is on right now (always, before free-threaded builds; a free-threaded build can
    still turn it on)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return bool(check()) if check else True


def mismatch() -> str | None:
    """What is wrong when the GIL is not in the state PYTHON_GIL (0 or 1) asked for; None when it is, or
    when PYTHON_GIL asked nothing."""
    asked = os.environ.get("PYTHON_GIL", "")
    if asked not in ("0", "1") or gil_enabled() == (asked == "1"):
        return None
    state = "enabled" if gil_enabled() else "disabled"
    return f"the GIL is {state} in this process although PYTHON_GIL={asked} asked otherwise"
