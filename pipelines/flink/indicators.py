"""The Flink job's streaming indicators: a keyed Python function over each symbol's final bars.

Flink SQL's OVER windows cannot give the engine's values (TA-Lib's SMA keeps a running total, EMA and
RSI are recursive), so the bars of :func:`pipelines.flink.bars.all_bars_query` leave SQL as one data stream,
are keyed by (interval, symbol) and pass through :class:`BarIndicatorsFunction`, which feeds each close to the
classes of :mod:`quanta.streaming.indicators` — the same objects the in-process ``BarIndicators`` uses,
so the values are the batch ``quanta.indicators`` on the symbol's bar series bit for bit. The job emits
each window once (final), so a bar's values never change later. The indicator objects live in Flink
keyed state (pickled), which checkpoints cover: a restored job goes on with the same values.

Runs in ``.venv-flink`` (imports pyflink); the function itself runs in Flink's Python worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from pyflink.common import Row, Types
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueState, ValueStateDescriptor
from pyflink.table import StreamTableEnvironment, Table

from pipelines.flink import bars

_BAR_TYPES = {
    "v": Types.INT(), "s": Types.STRING(), "i": Types.STRING(), "t": Types.LONG(), "o": Types.DOUBLE(),
    "h": Types.DOUBLE(), "l": Types.DOUBLE(), "c": Types.DOUBLE(), "q": Types.DOUBLE(), "n": Types.LONG(),
    "r": Types.INT(),
}  # fmt: skip


def output_type(names: Sequence[str]) -> TypeInformation:
    """A bar row (:data:`pipelines.flink.bars.BAR_COLUMNS`) plus ``x``: one DOUBLE per indicator."""
    columns = list(bars.BAR_COLUMNS)
    x = Types.ROW_NAMED(list(names), [Types.DOUBLE()] * len(names))
    return Types.ROW_NAMED([*columns, "x"], [*(_BAR_TYPES[c] for c in columns), x])


class BarIndicatorsFunction(KeyedProcessFunction):  # type: ignore[misc]
    """Per interval and symbol: each close into the indicators; the bar out with their values."""

    def __init__(self, specs: Sequence[str]) -> None:
        self.specs = tuple(specs)
        self._state: ValueState | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        """Declare the keyed state: the symbol's indicator objects."""
        descriptor = ValueStateDescriptor("indicators", Types.PICKLED_BYTE_ARRAY())
        self._state = runtime_context.get_state(descriptor)

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Row]:
        """One final bar in, the same bar with ``x`` out."""
        from quanta.streaming.indicators import IndicatorSpec  # noqa: PLC0415 - in the Python worker

        assert self._state is not None
        indicators: list[Any] | None = self._state.value()
        if indicators is None:
            indicators = [IndicatorSpec.parse(spec).create() for spec in self.specs]
        close = value[bars.BAR_COLUMNS.index("c")]
        values = [_json_ready(indicator.update(close)) for indicator in indicators]
        self._state.update(indicators)
        yield Row(*value, Row(*values))


def _json_ready(value: float) -> float | None:
    return value if math.isfinite(value) else None


def register_indicated_view(tables: StreamTableEnvironment, config: bars.BarsJobConfig) -> None:
    """The view :data:`pipelines.flink.bars.INDICATED_VIEW`: every interval's bars with ``x``, keyed
    by (symbol, interval) through :class:`BarIndicatorsFunction`."""
    table: Table = tables.sql_query(bars.all_bars_query(config))
    symbol, interval = bars.BAR_COLUMNS.index("s"), bars.BAR_COLUMNS.index("i")
    stream = (
        tables.to_data_stream(table)
        .key_by(lambda row: f"{row[interval]} {row[symbol]}", key_type=Types.STRING())
        .process(BarIndicatorsFunction(config.indicators), output_type=output_type(config.indicator_names))
        .name("indicators")
    )
    tables.create_temporary_view(bars.INDICATED_VIEW, tables.from_data_stream(stream))
