"""A comparison's files (``gilbench compare`` and ``ab``): the side-by-side page, a Markdown summary for a CI
job, the JSON for tools, and the terminal table."""

from __future__ import annotations

import json

from ...bench.judge.result import Comparison
from .. import comparison as show
from .base import Output


class ComparisonHtml(Output):
    name = "compare-html"
    filename = "compare.html"
    reads = "comparison"

    def render(self, data: Comparison) -> str:
        return show.html(data)


class ComparisonMarkdown(Output):
    name = "compare-markdown"
    filename = "compare.md"
    reads = "comparison"

    def render(self, data: Comparison) -> str:
        return show.markdown(data)


class ComparisonJson(Output):
    name = "compare-json"
    filename = "compare.json"
    reads = "comparison"

    def render(self, data: Comparison) -> str:
        return json.dumps(data.to_dict(), indent=1, default=str, allow_nan=False)  # strict JSON: no NaN


class ComparisonText(Output):
    """The table the command prints (its standard output)."""

    name = "compare-text"
    filename = "compare.txt"
    reads = "comparison"

    def render(self, data: Comparison) -> str:
        return show.text(data)
