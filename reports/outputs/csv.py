"""results.csv: the tidy table, one row per cell, for pandas, spreadsheets and other tools."""

from __future__ import annotations

from ..frame import RunData, csv_frame
from .base import Output


class CsvOutput(Output):
    name = "csv"
    filename = "results.csv"

    def render(self, run: RunData) -> str:
        return csv_frame(run).to_csv(index=False)
