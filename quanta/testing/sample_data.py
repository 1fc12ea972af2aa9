"""Small market-data samples for tests: tiny valid OHLCV frames and the raw bokeh stock files."""

from __future__ import annotations

import gzip
import io
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

BOKEH_STOCKS = "bokeh_sampledata/_data/stocks.csv.gz"


def tiny_bars(n: int = 5, *, start: date = date(2024, 1, 1), symbol: str = "TINY") -> pl.DataFrame:
    """``n`` valid daily bars on consecutive business days, with simple rising prices.

    Columns: ``symbol, ts, open, high, low, close, volume, adj_close`` (adj_close null).
    """
    days = np.busday_offset(np.datetime64(start, "D"), np.arange(n), roll="forward")
    base = 100.0 + np.arange(n, dtype=float)
    return pl.DataFrame(
        {
            "symbol": [symbol] * n,
            "ts": days.astype("datetime64[us]"),
            "open": base,
            "high": base + 1.5,
            "low": base - 1.0,
            "close": base + 0.5,
            "volume": 1000.0 + 10 * np.arange(n),
            "adj_close": pl.Series([None] * n, dtype=pl.Float64),
        }
    )


def ohlcv_csv(frame: pl.DataFrame, *, columns: dict[str, str] | None = None) -> bytes:
    """``frame`` as CSV bytes the importer accepts (dates as ``YYYY-MM-DD``), columns renamed by ``columns``.

    Defaults to the spelling ``Date,Open,High,Low,Close,Volume``.
    """
    names = columns or {c: c.capitalize() for c in ("open", "high", "low", "close", "volume")} | {
        "ts": "Date"
    }
    out = frame.select(pl.col("ts").dt.strftime("%Y-%m-%d"), *[c for c in names if c != "ts"]).rename(names)
    return out.write_csv().encode()


def csv_bytes(
    rows: list[list[object]], header: tuple[str, ...] = ("date", "open", "high", "low", "close", "volume")
) -> bytes:
    """A CSV file from literal rows, for hand-written bad inputs."""
    lines = [",".join(header), *(",".join("" if v is None else str(v) for v in row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def bokeh_stock(symbol: str = "GOOG") -> pd.DataFrame:
    """One symbol straight from bokeh-sampledata's ``stocks.csv.gz`` (read with pandas, not Quanta).

    Columns ``ts, open, high, low, close, volume, adj_close``, sorted by ``ts``.
    """
    path = Path(str(metadata.distribution("bokeh-sampledata").locate_file(BOKEH_STOCKS)))
    raw = pd.read_csv(io.BytesIO(gzip.decompress(path.read_bytes())))
    frame = raw[raw["Ticker"] == symbol].rename(columns=lambda c: c.lower().replace(" ", "_"))
    frame = frame.rename(columns={"date": "ts"}).drop(columns=["ticker"])
    frame["ts"] = pd.to_datetime(frame["ts"])
    frame = frame.astype({"volume": float})
    return frame.sort_values("ts").reset_index(drop=True)


def at(text: str) -> datetime:
    """A naive datetime from an ISO string, for short assertions."""
    return datetime.fromisoformat(text)
