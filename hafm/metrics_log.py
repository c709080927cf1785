"""Training metrics as CSV (one row per step and per validation), plus TensorBoard when installed.

Rows are appended line by line, so a killed run keeps everything logged so far; on resume the rows
after the checkpoint's step (steps that will be trained again) and any half-written last line are
dropped with an atomic rewrite, so the file always tells one consistent run.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hafm.fileio import atomic_write_text

METRICS_NAME = "metrics.csv"


def read_metrics(path: str | Path) -> list[dict[str, str]]:
    """Complete rows of a metrics CSV (a truncated last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        return [row for row in reader if None not in row.values() and len(row) == len(fields)]


def _csv_text(fields: list[str], rows: list[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _format(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


class MetricsLog:
    """Append-only CSV of metric rows; columns are fixed by the first row written."""

    def __init__(self, path: str | Path, keep_until_step: int, tensorboard_dir: str | Path | None = None):
        self.path = Path(path)
        rows = read_metrics(self.path)
        kept = [r for r in rows if int(r["step"]) <= keep_until_step]
        self.fields: list[str] | None = None
        if self.path.is_file():
            with open(self.path, newline="") as f:
                self.fields = next(csv.reader(f), None)
            if self.fields:
                atomic_write_text(self.path, _csv_text(self.fields, kept))
        self._tb = _tensorboard(tensorboard_dir) if tensorboard_dir is not None else None

    def write(self, row: Mapping[str, Any]) -> None:
        row = {k: _format(v) for k, v in row.items()}
        if not self.fields:
            self.fields = list(row)
            atomic_write_text(self.path, _csv_text(self.fields, []))
        unknown = set(row) - set(self.fields)
        if unknown:
            raise ValueError(f"metrics columns {sorted(unknown)} are not in {self.path}'s header {self.fields}")
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields, lineterminator="\n").writerow(row)
        if self._tb is not None:
            for key, value in row.items():
                if key not in ("step", "split") and value != "":
                    self._tb.add_scalar(f"{row['split']}/{key}", float(value), int(row["step"]))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _tensorboard(log_dir: str | Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional
        return None
    return SummaryWriter(log_dir=str(log_dir))
