"""Market data: an Ibis layer over DuckDB (embedded) or PostgreSQL, with bundled real data,
a synthetic generator and a validating importer. For example::

    con = connect()  # the store chosen by the settings
    load_bundled(con)  # idempotent, a second or so
    weekly = bars(con, "AAPL", start="2010-01-01", timeframe="1W").to_polars()
"""

from quanta.data.connection import connect, ensure_schema
from quanta.data.errors import DataValidationError, MarketDataError, UnknownSymbolError
from quanta.data.importer import ImportReport, import_bytes, import_file
from quanta.data.queries import (
    Timeframe,
    bar_count,
    bars,
    date_range,
    instruments,
    require_symbol,
    resample,
    returns,
    search_instruments,
    symbols,
)
from quanta.data.schema import BARS_SCHEMA, INSTRUMENTS_SCHEMA
from quanta.data.sources import SOURCES, BundledSource, LoadReport, SourceReport, load_bundled
from quanta.data.synthetic import store_synthetic, synthetic_bars, synthetic_ticks

__all__ = [
    "BARS_SCHEMA",
    "INSTRUMENTS_SCHEMA",
    "SOURCES",
    "BundledSource",
    "DataValidationError",
    "ImportReport",
    "LoadReport",
    "MarketDataError",
    "SourceReport",
    "Timeframe",
    "UnknownSymbolError",
    "bar_count",
    "bars",
    "connect",
    "date_range",
    "ensure_schema",
    "import_bytes",
    "import_file",
    "instruments",
    "load_bundled",
    "require_symbol",
    "resample",
    "returns",
    "search_instruments",
    "store_synthetic",
    "symbols",
    "synthetic_bars",
    "synthetic_ticks",
]
