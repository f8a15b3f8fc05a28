"""Durations in words ("4 min 05 s"), as the progress lines, the estimates and the report say them.

Why data: the report shows a run's estimate and duration the way the run said them, and reports/ reads only
the data room.
"""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
