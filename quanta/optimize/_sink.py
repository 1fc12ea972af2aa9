"""Write search rows to a file as they are evaluated (JSON lines, or CSV by the file's suffix)."""

from __future__ import annotations

import contextlib
import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from quanta.optimize._pool import Row
from quanta.optimize._search import RowSink


def _flat(row: Row) -> dict[str, Any]:
    values = {"index": row.index, **row.params, "score": row.score, **row.stats}
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()}


@contextlib.contextmanager
def row_writer(path: str | Path) -> Iterator[RowSink]:
    """A sink writing each row as one line of ``path`` (``.csv``: CSV with a header; else JSON lines)."""
    target = Path(path)
    with target.open("w", newline="", encoding="utf-8") as handle:
        if target.suffix.lower() == ".csv":
            writer: csv.DictWriter[str] | None = None

            def write_csv(row: Row) -> None:
                nonlocal writer
                record = _flat(row)
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(record), extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(record)

            yield write_csv
        else:

            def write_json(row: Row) -> None:
                handle.write(json.dumps(_flat(row), allow_nan=False) + "\n")

            yield write_json
