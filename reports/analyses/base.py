"""The analysis interface: a name, and the sections it makes from a run (none when nothing applies)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..frame import RunData
    from ..sections import Section


class Analysis:
    """Reads a run's cells (``RunData``) and returns report sections; never measures anything."""

    name = "analysis"

    def sections(self, run: "RunData") -> list["Section"]:
        raise NotImplementedError
