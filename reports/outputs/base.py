"""The one interface every report output implements (HTML, CSV, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ..frame import RunData


class Output(ABC):
    """Renders a run into one file of the run folder. Subclasses set ``name`` and ``filename``."""

    name: ClassVar[str]
    filename: ClassVar[str]

    @abstractmethod
    def render(self, run: RunData) -> str:
        """The file's whole content."""
