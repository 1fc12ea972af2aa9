"""The history sink: bars from a transport kept in Parquet, one file per interval, day and symbol.

``python -m pipelines.history --root var/history`` follows ``quanta.bars.1s`` and ``quanta.bars.1m``
(Kafka, in a consumer group) and upserts every bar into ``<root>/<interval>/<YYYY-MM-DD>/<SYMBOL>.parquet``
(the UTC day of the window start). :class:`BarHistory` works on any :class:`quanta.streaming.Transport`,
so the embedded bus (``InProcessBus``) feeds it the same way.

**Exactly once, as far as a reader can tell.** A file holds at most one row per window ``start``: a
write merges the new bars into the partition's file keeping, per window, the highest revision (the
later one on a tie), writes a temporary file and renames it over the old one (atomic on POSIX). Offsets
are committed only after the files are written, so a crash re-delivers bars, and writing them again
changes nothing. Readers see whole files only.

Read it with DuckDB through Ibis: ``history_table(con, root)`` (all columns: ``symbol``, ``interval``,
``start`` ms, ``time`` UTC, OHLC, ``volume``, ``ticks``, ``rev``, and one DOUBLE column per indicator).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines._options import bootstrap_or_settings, kafka_options, topics
from quanta.streaming import Bar, MalformedEventError, Subscription, Topics, Transport, decode_bar

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis import BaseBackend

log = logging.getLogger(__name__)

DEFAULT_GROUP = "quanta-history"
_BASE = pa.schema(
    [
        ("symbol", pa.string()),
        ("interval", pa.string()),
        ("start", pa.int64()),
        ("time", pa.timestamp("ms", tz="UTC")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("ticks", pa.int64()),
        ("rev", pa.int64()),
    ]
)


def partition(bar: Bar) -> tuple[str, str, str]:
    """``(interval, UTC day of the window start, symbol)``: where a bar is kept."""
    day = dt.datetime.fromtimestamp(bar.start / 1000, tz=dt.UTC).date().isoformat()
    return bar.interval, day, bar.symbol


def bars_table(bars: Sequence[Bar]) -> pa.Table:
    """Bars as rows of the history schema, one DOUBLE column per indicator they carry."""
    names = sorted({name for bar in bars for name in bar.indicators})
    columns: dict[str, list[object]] = {
        "symbol": [b.symbol for b in bars],
        "interval": [b.interval for b in bars],
        "start": [b.start for b in bars],
        "time": [b.start for b in bars],
        "open": [b.open for b in bars],
        "high": [b.high for b in bars],
        "low": [b.low for b in bars],
        "close": [b.close for b in bars],
        "volume": [b.volume for b in bars],
        "ticks": [b.ticks for b in bars],
        "rev": [b.rev for b in bars],
    }
    for name in names:
        columns[name] = [b.indicators.get(name) for b in bars]
    schema = pa.schema([*_BASE, *(pa.field(name, pa.float64()) for name in names)])
    return pa.table(columns, schema=schema)


def stored_bars(table: pa.Table) -> list[Bar]:
    """Rows of the history schema back to bars (indicators from the extra columns, null as None)."""
    names = [name for name in table.column_names if name not in _BASE.names]
    return [_stored_bar(row, names) for row in table.to_pylist()]


def _stored_bar(row: dict[str, Any], indicators: list[str]) -> Bar:
    window = (row["symbol"], row["interval"], row["start"])
    ohlcv = (row["open"], row["high"], row["low"], row["close"], row["volume"])
    return Bar(*window, *ohlcv, row["ticks"], row["rev"], {name: row[name] for name in indicators})


def latest_revisions(table: pa.Table) -> pa.Table:
    """One row per window ``start``: its highest ``rev``, the later row on a tie; sorted by start."""
    order = np.lexsort(
        (np.arange(table.num_rows), table.column("rev").to_numpy(), table.column("start").to_numpy())
    )
    ordered = table.take(pa.array(order))
    starts = ordered.column("start").to_numpy()
    last = np.append(starts[1:] != starts[:-1], True) if len(starts) else np.array([], dtype=bool)
    return ordered.filter(pa.array(last))


class BarHistory:
    """Parquet files under ``root``: :meth:`write` upserts bars (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.written = 0

    def path(self, interval: str, day: str, symbol: str) -> Path:
        """The file of one interval, day and symbol."""
        return self.root / interval / day / f"{symbol}.parquet"

    def write(self, bars: Iterable[Bar]) -> int:
        """Upsert ``bars``; how many partition files were rewritten."""
        groups: dict[tuple[str, str, str], list[Bar]] = defaultdict(list)
        for bar in bars:
            groups[partition(bar)].append(bar)
        for key, members in groups.items():
            self._upsert(self.path(*key), bars_table(members))
            self.written += len(members)
        return len(groups)

    def read(self) -> pa.Table:
        """Every stored bar (all files, columns unified by name), sorted by interval, symbol, start."""
        files = sorted(self.root.glob("*/*/*.parquet"))
        if not files:
            return _BASE.empty_table()
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
        return table.sort_by([("interval", "ascending"), ("symbol", "ascending"), ("start", "ascending")])

    def recent(self, interval: str, symbols: Iterable[str], keep: int) -> dict[str, list[Bar]]:
        """The last ``keep`` stored bars of each symbol (oldest first; none for a symbol without any),
        read from the newest days back."""
        days = sorted((p.name for p in (self.root / interval).glob("*") if p.is_dir()), reverse=True)
        out: dict[str, list[Bar]] = {}
        for symbol in symbols:
            tables, rows = [], 0
            for day in days:
                path = self.path(interval, day, symbol)
                if path.exists():
                    tables.append(pq.read_table(path))
                    rows += tables[-1].num_rows
                if rows >= keep:
                    break
            if tables:
                table = pa.concat_tables(tables, promote_options="default").sort_by("start")
                out[symbol] = stored_bars(table.slice(max(0, table.num_rows - keep)))
        return out

    def _upsert(self, path: Path, new: pa.Table) -> None:
        if path.exists():
            new = pa.concat_tables([pq.read_table(path), new], promote_options="default")
        merged = latest_revisions(new)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(merged, temporary, compression="zstd")
        temporary.replace(path)


def history_table(con: BaseBackend, root: Path, *, name: str = "bar_history") -> ir.Table:
    """The stored bars as an Ibis table on ``con`` (DuckDB reads the Parquet files in place)."""
    pattern = str(Path(root) / "*" / "*" / "*.parquet")
    return con.read_parquet(pattern, table_name=name, union_by_name=True)


class HistoryWriter:
    """Follows one bars topic into a :class:`BarHistory`: writes every ``batch`` bars or ``every``
    seconds, and commits the subscription's offsets after each write."""

    def __init__(self, history: BarHistory, *, batch: int = 5000, every: float = 2.0) -> None:
        self.history = history
        self.batch = batch
        self.every = every
        self.consumed = 0
        self.skipped = 0
        self._pending: list[Bar] = []

    async def follow(self, subscription: Subscription) -> None:
        """Consume until the subscription ends (``stop()``) or the task is cancelled; write what is left."""
        ticker = asyncio.create_task(self._tick(subscription), name="history-flush")
        try:
            async for message in subscription:
                try:
                    self._pending.append(decode_bar(message.value))
                except MalformedEventError as exc:
                    log.warning("skipping a malformed bar record: %s", exc)
                    self.skipped += 1
                self.consumed += 1
                if len(self._pending) >= self.batch:
                    await self.flush(subscription)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.flush(subscription)

    async def flush(self, subscription: Subscription) -> None:
        """Write the pending bars, then commit (the write happens before any other record is taken)."""
        bars, self._pending = self._pending, []
        if bars:
            self.history.write(bars)
        await subscription.commit()

    async def _tick(self, subscription: Subscription) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.flush(subscription)


async def run_history(
    transport: Transport,
    history: BarHistory,
    *,
    names: Topics,
    intervals: Sequence[str] = ("1s", "1m"),
    group: str = DEFAULT_GROUP,
    stop: asyncio.Event | None = None,
    batch: int = 5000,
    every: float = 2.0,
) -> list[HistoryWriter]:
    """Follow the bars topics of ``intervals`` into ``history`` until ``stop`` is set; the writers."""
    writers = [HistoryWriter(history, batch=batch, every=every) for _ in intervals]
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = []
        for interval in intervals:
            subscription = transport.subscribe(names.bars(interval), group=group, from_beginning=True)
            subscriptions.append(await stack.enter_async_context(subscription))
        tasks = [asyncio.create_task(w.follow(s)) for w, s in zip(writers, subscriptions, strict=True)]
        await (stop or asyncio.Event()).wait()
        for subscription in subscriptions:
            subscription.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return writers


@click.command()
@click.option("--root", type=click.Path(path_type=Path), default=Path("var/history"), show_default=True)
@click.option("--intervals", default="1s,1m", show_default=True, help="Bar intervals, comma-separated.")
@click.option("--group", default=DEFAULT_GROUP, show_default=True, help="Kafka consumer group.")
@kafka_options
def main(*, root: Path, intervals: str, group: str, bootstrap: str | None, namespace: str) -> None:
    """Keep the bars topics in Parquet files under ROOT, until Ctrl-C."""
    from pipelines.kafka import KafkaTransport  # noqa: PLC0415 - aiokafka only for the command

    servers = bootstrap_or_settings(bootstrap)
    if servers is None:
        raise click.UsageError("no Kafka: pass --bootstrap or set QUANTA_KAFKA_BOOTSTRAP")

    async def run() -> list[HistoryWriter]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        chosen = tuple(i.strip() for i in intervals.split(",") if i.strip())
        transport = KafkaTransport(servers, client_id="quanta-history")
        return await run_history(transport, BarHistory(root), names=topics(namespace), intervals=chosen,
                                 group=group, stop=stop)  # fmt: skip

    writers = asyncio.run(run())
    click.echo(f"stored {sum(w.consumed for w in writers)} bar records under {root}", err=True)


if __name__ == "__main__":
    main()
