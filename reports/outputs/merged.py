"""The merged page of ``gilbench merge``: run folders of different machines side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .base import Output

if TYPE_CHECKING:
    from ..merge import MergedRun


class MergedHtml(Output):
    name = "merged-html"
    filename = "report.html"
    reads = "merge"

    def render(self, data: Sequence["MergedRun"]) -> str:
        from ..merge import render  # here: reports.merge reaches its outputs through discovery

        return render(data)
