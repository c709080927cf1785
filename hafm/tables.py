"""Plain markdown tables from pandas frames (no optional ``tabulate`` dependency)."""

from __future__ import annotations

import pandas as pd


def markdown_table(table: pd.DataFrame, float_format: str = "{:.3g}") -> str:
    """A GitHub markdown table of ``table``; floats through ``float_format``, ``|`` escaped."""
    def cell(value) -> str:
        text = float_format.format(value) if isinstance(value, float) else str(value)
        return text.replace("|", "/")

    head = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"
