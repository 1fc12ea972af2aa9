"""The Flink bars job's settings and its Flink SQL: ticks from Kafka to OHLCV bars and dead letters.

Plain Python (no pyflink import), so the app's environment can build and check the job's command line
and statements; :mod:`pipelines.flink.bars_job` runs them in ``.venv-flink``.

Topology (one source, one sink per bar interval, one for dead letters; parallelism 1)::

    quanta.ticks ─ checks of decode_tick ─┬─ good ─┬─ TUMBLE 1s ─ indicators ─ quanta.bars.1s
      (raw bytes, watermark: max t        │        ├─ TUMBLE 1m ─ indicators ─ quanta.bars.1m
       − out_of_orderness − 1             │        └─ too late ──┐
       − allowed_lateness)                └─ bad ────────────────┴─ quanta.ticks.dlq

"indicators" is a Python keyed function (:mod:`pipelines.flink.indicators`, per symbol, the classes of
``quanta.streaming.indicators``) between the window's bars and the sink; with ``indicators=()`` the
bars go straight from SQL to the sink.

Semantics next to :class:`quanta.streaming.BarAggregator` (docs/streaming-flink.md has the details):

- the same windows ``[start, start + width)`` and the same lateness rule: a tick is dropped (a ``late``
  dead letter) once ``end - 1 + allowed_lateness <= max t - out_of_orderness - 1``;
- one emission per window, when that rule closes it: the bar equals the aggregator's *last* revision
  of the window; ``r`` is always 0 and ``x`` holds the indicators over the symbol's final bars, equal to
  ``quanta.indicators`` on that bar series (null in warm-up);
- the watermark is Flink's, per Kafka partition (the minimum across partitions), not per symbol;
- open and close are the prices of the ticks with the smallest and largest ``(t, n)``; volume is summed
  in arrival order, as in the aggregator.

The statements are put together from this module's own fragments; the only outside text (topic names,
servers, ids) enters as SQL string literals through ``_q`` (hence the ``noqa: S608``).

Only the indicator function imports ``quanta`` (``quanta.streaming``, in Flink's Python worker).
The defaults equal :class:`quanta.streaming.BarConfig` and :class:`quanta.streaming.Topics`, which
``tests/flink/test_bars_sql.py`` checks.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.flink.options import add_job_options, job_args, job_settings, mini_cluster_options
from pipelines.flink.paths import REPO

SCHEMA_VERSION = 1
MAX_TS = 2**53  # as quanta.streaming.schema.MAX_TS
SYMBOL_REGEX = r"[A-Za-z0-9][A-Za-z0-9._^=/-]{0,31}"  # as quanta.streaming.events.SYMBOL
_INTERVAL = re.compile(r"([1-9][0-9]*)(s|m|h)")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}
_DOUBLE_MAX = "1.7976931348623157E308"
_PAD_TS, _PAD_SEQ = 16, 19  # digits of MAX_TS - 1 and of 2**63 - 1
_INDICATOR = re.compile(r"(SMA|EMA|RSI):([1-9][0-9]*)")  # as quanta.streaming.indicators.IndicatorSpec

DEFAULT_CHECKPOINTS = REPO / "var" / "flink" / "checkpoints"


def interval_ms(interval: str) -> int:
    """The width of a bar interval such as ``"1s"`` or ``"1m"`` in milliseconds."""
    match = _INTERVAL.fullmatch(interval)
    if match is None:
        msg = f"unknown bar interval {interval!r}; use <n>s, <n>m or <n>h, e.g. 1s or 1m"
        raise ValueError(msg)
    return int(match[1]) * _UNIT_MS[match[2]]


@dataclass(frozen=True, kw_only=True)
class BarsJobConfig:
    """Everything the bars job needs; the defaults are the app's (``BarConfig``, ``Topics``)."""

    bootstrap: str
    namespace: str = ""
    intervals: tuple[str, ...] = ("1s", "1m")
    out_of_orderness_ms: int = 500
    allowed_lateness_ms: int = 2000
    group_id: str = "quanta-flink-bars"
    transactional_id_prefix: str = "quanta-flink-bars"
    transaction_timeout_ms: int = 600_000
    checkpoint_dir: Path = DEFAULT_CHECKPOINTS
    checkpoint_interval_ms: int = 10_000
    restore_from: Path | None = None
    idle_timeout_ms: int = 5_000
    jvm_heap_mb: int = 320
    indicators: tuple[str, ...] = ("SMA:20", "EMA:20", "RSI:14")
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for interval in self.intervals:
            interval_ms(interval)
        bad = [spec for spec in self.indicators if _INDICATOR.fullmatch(spec) is None]
        if bad or len(set(self.indicator_names)) != len(self.indicators):
            msg = f"indicators must be distinct NAME:PERIOD with NAME one of SMA, EMA, RSI; got {bad}"
            raise ValueError(msg)
        if not self.intervals or len(set(self.intervals)) != len(self.intervals):
            msg = "intervals must be distinct and at least one"
            raise ValueError(msg)
        if self.out_of_orderness_ms < 0 or self.allowed_lateness_ms < 0:
            msg = "out_of_orderness_ms and allowed_lateness_ms must be >= 0"
            raise ValueError(msg)

    @property
    def ticks_topic(self) -> str:
        """Tick records, keyed by symbol."""
        return f"{self.namespace}quanta.ticks"

    @property
    def dead_letter_topic(self) -> str:
        """Malformed, unsupported and late tick records, with the reason."""
        return f"{self.namespace}quanta.ticks.dlq"

    def bars_topic(self, interval: str) -> str:
        """Bars of one interval, keyed by symbol."""
        return f"{self.namespace}quanta.bars.{interval}"

    @property
    def indicator_names(self) -> list[str]:
        """The keys of the bars' ``x``: ``sma_20``, ``rsi_14``, … (``IndicatorSpec.key``)."""
        return [spec.replace(":", "_").lower() for spec in self.indicators]

    @property
    def watermark_delay_ms(self) -> int:
        """How far the watermark trails the largest event time: windows close at ``end - 1`` past it."""
        return self.out_of_orderness_ms + 1 + self.allowed_lateness_ms


# --- command line ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The job's command line (``python -m pipelines.flink.bars_job --help``); defaults as BarsJobConfig."""
    d = BarsJobConfig(bootstrap="")
    p = argparse.ArgumentParser(
        prog="pipelines.flink.bars_job", description="Ticks from Kafka to event-time OHLCV bars (Flink SQL)."
    )
    add_job_options(p, d)
    p.add_argument("--intervals", default=",".join(d.intervals), help="bar widths: <n>s, <n>m, <n>h, …")
    p.add_argument("--out-of-orderness-ms", type=int, default=d.out_of_orderness_ms)
    p.add_argument("--allowed-lateness-ms", type=int, default=d.allowed_lateness_ms)
    p.add_argument("--indicators", default=",".join(d.indicators), help="NAME:PERIOD, … ('' for none)")
    p.add_argument("--idle-timeout-ms", type=int, default=d.idle_timeout_ms, help="a silent partition waits")
    p.add_argument("--explain", action="store_true", help="print the plan and exit")
    return p


def config_from_args(args: argparse.Namespace) -> BarsJobConfig:
    """The configuration the parsed command line describes."""
    return BarsJobConfig(
        intervals=tuple(part.strip() for part in args.intervals.split(",") if part.strip()),
        out_of_orderness_ms=args.out_of_orderness_ms,
        allowed_lateness_ms=args.allowed_lateness_ms,
        idle_timeout_ms=args.idle_timeout_ms,
        indicators=tuple(part.strip() for part in args.indicators.split(",") if part.strip()),
        **job_settings(args),
    )


def command_args(config: BarsJobConfig) -> list[str]:
    """The command-line arguments that :func:`config_from_args` turns back into ``config``."""
    return [
        *job_args(config),
        f"--intervals={','.join(config.intervals)}",
        f"--out-of-orderness-ms={config.out_of_orderness_ms}",
        f"--allowed-lateness-ms={config.allowed_lateness_ms}",
        f"--idle-timeout-ms={config.idle_timeout_ms}",
        f"--indicators={','.join(config.indicators)}",
    ]


# --- Flink configuration -------------------------------------------------------------------------


def flink_options(config: BarsJobConfig, *, python: str, connector_jar: Path) -> dict[str, str]:
    """Flink options for a local mini cluster (:func:`pipelines.flink.options.mini_cluster_options`) and
    the bars job's SQL planner settings."""
    return mini_cluster_options(
        python=python,
        connector_jar=connector_jar,
        checkpoint_interval_ms=config.checkpoint_interval_ms,
        checkpoint_dir=config.checkpoint_dir,
        restore_from=config.restore_from,
        job={
            "table.local-time-zone": "UTC",  # windows of 1h and more align with the epoch
            # The INSERTs share the source and the checks: plan that block once (saves seconds at start-up).
            "table.optimizer.reuse-optimize-block-with-digest-enabled": "true",
            "table.optimizer.agg-phase-strategy": "ONE_PHASE",  # sums in arrival order, as in the aggregator
        },
        extra=config.extra,
    )


# --- SQL -----------------------------------------------------------------------------------------

_DOC = "CAST(`value` AS STRING)"


def _q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# encode_tick's own output, exactly: ``{"v":1,"s":…,"t":…,"p":…,"q":…,"n":…}`` with Python's float repr.
# A record of this form is a good tick by its form alone — the bounds keep every value in range: t
# < 10**15 < MAX_TS, n < 10**18 < 2**63, p a non-zero number and q a number of at most 17 integer
# digits, 20 decimals and a two-digit exponent (finite, p > 0, q ≥ 0) — so one regular expression
# checks it and REGEXP_EXTRACT reads its fields (groups 1-5), instead of a JSON parse per check and
# per field. Anything else (other key order, spacing, exponents) takes the full checks below, the
# same decisions as decode_tick.
_POSITIVE = r"(?:[1-9][0-9]{0,16}(?:\.[0-9]{1,20})?|0\.0{0,20}[1-9][0-9]{0,19})(?:e[+-]?[0-9]{1,2})?"
_NON_NEGATIVE = r"(?:0|[1-9][0-9]{0,16})(?:\.[0-9]{1,20})?(?:e[+-]?[0-9]{1,2})?"
CANONICAL_TICK = (
    r'^\{"v":1,"s":"(' + SYMBOL_REGEX + r')","t":(0|[1-9][0-9]{0,14}),"p":(' + _POSITIVE
    + r'),"q":(' + _NON_NEGATIVE + r'),"n":(0|[1-9][0-9]{0,17})\}\z'
)  # fmt: skip
_GROUP = {"s": 1, "t": 2, "p": 3, "q": 4, "n": 5}


def _canonical(doc: str) -> str:
    return f"REGEXP({doc}, {_q(CANONICAL_TICK)})"


def _field(doc: str, key: str) -> str:
    """A good tick's field as text: from the canonical form when it has it (no match gives NULL)."""
    return f"COALESCE(REGEXP_EXTRACT({doc}, {_q(CANONICAL_TICK)}, {_GROUP[key]}), {_text(doc, key)})"


def _wrapped(doc: str, key: str) -> str:
    """The field as JSON text inside ``[...]`` (``["GOOG"]``, ``[1.5]``, ``[true]``): its JSON type shows."""
    return f"JSON_QUERY({doc}, '$.{key}' WITH ARRAY WRAPPER)"


def _text(doc: str, key: str) -> str:
    return f"JSON_VALUE({doc}, '$.{key}')"


def _integer(doc: str, key: str, maximum: int) -> str:
    """``key`` is a JSON integer (not 1.0, not true) in ``[0, maximum]``."""
    return (
        f"REGEXP({_wrapped(doc, key)}, '^\\[(0|[1-9][0-9]*)\\]\\z') "
        f"AND TRY_CAST({_text(doc, key)} AS BIGINT) <= {maximum}"
    )


def _number(doc: str, key: str, *, positive: bool) -> str:
    """``key`` is a finite JSON number (not a string, not a boolean), > 0 or >= 0."""
    value = f"TRY_CAST({_text(doc, key)} AS DOUBLE)"
    lower = f"{value} > 0" if positive else f"{value} >= 0"
    return f"REGEXP({_wrapped(doc, key)}, '^\\[-?[0-9]') AND {lower} AND {value} <= {_DOUBLE_MAX}"


def _checks(doc: str) -> list[tuple[str, str, str]]:
    """``(condition that holds for a good record, reason, detail)`` in the order decode_tick checks."""
    version = _wrapped(doc, "v")
    return [
        (f"{doc} IS JSON", "malformed", "tick is not JSON"),
        (f"{doc} IS JSON OBJECT", "malformed", "tick is not a JSON object"),
        (f"REGEXP({doc}, '\\}}[ \\t\\n\\r]*\\z')", "malformed", "tick is not JSON: extra data"),
        (
            f"{version} IS NULL OR {version} = '[1]' OR NOT REGEXP({version}, '^\\[[1-9][0-9]*\\]\\z')",
            "unsupported-version",
            f"tick has a schema version this reader does not know ({SCHEMA_VERSION})",
        ),
        (
            f"{version} = '[true]' OR (REGEXP({version}, '^\\[-?[0-9]') "
            f"AND TRY_CAST({_text(doc, 'v')} AS DOUBLE) = {SCHEMA_VERSION})",
            "malformed",
            f"tick field 'v' must be the schema version {SCHEMA_VERSION}",
        ),
        (
            f"{_wrapped(doc, 's')} LIKE '[\"%' AND REGEXP({_text(doc, 's')}, '^{SYMBOL_REGEX}\\z')",
            "malformed",
            "record field 's' must be a symbol (letters, digits, . _ ^ = / -; 1-32 long)",
        ),
        (
            _integer(doc, "t", MAX_TS - 1),
            "malformed",
            f"record field 't' must be an integer in [0, {MAX_TS - 1}]",
        ),
        (_number(doc, "p", positive=True), "malformed", "record field 'p' must be a finite number > 0"),
        (_number(doc, "q", positive=False), "malformed", "record field 'q' must be a finite number ≥ 0"),
        (
            _integer(doc, "n", 2**63 - 1),
            "malformed",
            f"record field 'n' must be an integer in [0, {2**63 - 1}]",
        ),
    ]


def _fault_case(doc: str, column: int) -> str:
    """A CASE giving the first failed check's reason (column 1) or detail (column 2), NULL if none."""
    whens = " ".join(
        f"WHEN NOT COALESCE({check[0]}, FALSE) THEN {_q(check[column])}" for check in _checks(doc)
    )
    return (
        f"CASE WHEN {_canonical(doc)} THEN NULL WHEN {doc} IS NULL THEN {_q(_checks(doc)[0][column])} "
        f"{whens} ELSE NULL END"
    )


def _valid(doc: str) -> str:
    full = f"{doc} IS NOT NULL AND " + " AND ".join(f"COALESCE({check[0]}, FALSE)" for check in _checks(doc))
    return f"({_canonical(doc)} OR ({full}))"


def _interval_literal(ms: int) -> str:
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND"


def _kafka(topic: str, config: BarsJobConfig) -> str:
    servers = _q(config.bootstrap)
    return f"'connector' = 'kafka', 'topic' = {_q(topic)}, 'properties.bootstrap.servers' = {servers}"


def _exactly_once(config: BarsJobConfig, name: str) -> str:
    return (
        "'sink.delivery-guarantee' = 'exactly-once', "
        f"'sink.transactional-id-prefix' = {_q(f'{config.transactional_id_prefix}-{name}')}, "
        f"'properties.transaction.timeout.ms' = '{config.transaction_timeout_ms}'"
    )


def source_ddl(config: BarsJobConfig) -> str:
    """The tick topic as raw bytes, with an event time that only well-formed ticks advance."""
    event_time = (
        f"CASE WHEN {_valid(_DOC)} THEN TO_TIMESTAMP_LTZ(TRY_CAST({_field(_DOC, 't')} AS BIGINT), 3) "
        "ELSE TO_TIMESTAMP_LTZ(0, 3) END"
    )
    return f"""CREATE TEMPORARY TABLE tick_records (
  `key` STRING,
  `value` BYTES,
  `rowtime` AS {event_time},
  WATERMARK FOR `rowtime` AS `rowtime` - {_interval_literal(config.watermark_delay_ms)}
) WITH (
  {_kafka(config.ticks_topic, config)},
  'properties.group.id' = {_q(config.group_id)},
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.watermark.emit.strategy' = 'on-event',
  'scan.watermark.idle-timeout' = '{config.idle_timeout_ms} ms',
  'key.format' = 'raw',
  'key.fields' = 'key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
)"""


def checked_view() -> str:
    """Every record with its fault (NULL for a good tick) and the detail.

    (One CASE per column: a shared fault code would be inlined into each use and plan far slower.)
    """
    return f"""CREATE TEMPORARY VIEW checked AS
SELECT `key`, `value`, `rowtime`, {_fault_case("doc", 1)} AS fault, {_fault_case("doc", 2)} AS detail, doc
FROM (SELECT `key`, `value`, `rowtime`, {_DOC} AS doc FROM tick_records)"""  # noqa: S608


def ticks_view() -> str:
    """The good ticks as typed columns, with ``order_key`` ordering them by ``(t, n)``."""
    return f"""CREATE TEMPORARY VIEW ticks AS
SELECT symbol, ts, seq, price, size, `key`, `value`, `rowtime`,
  LPAD(CAST(ts AS STRING), {_PAD_TS}, '0') || LPAD(CAST(seq AS STRING), {_PAD_SEQ}, '0')
    || CAST(price AS STRING) AS order_key
FROM (
  SELECT {_field("doc", "s")} AS symbol, TRY_CAST({_field("doc", "t")} AS BIGINT) AS ts,
    TRY_CAST({_field("doc", "n")} AS BIGINT) AS seq, TRY_CAST({_field("doc", "p")} AS DOUBLE) AS price,
    TRY_CAST({_field("doc", "q")} AS DOUBLE) AS size, `key`, `value`, `rowtime`
  FROM checked WHERE fault IS NULL
)"""  # noqa: S608


def _sink_name(interval: str) -> str:
    return f"bars_{interval}"


INDICATED_VIEW = "indicated_bars"
"""The view the job registers: the bars of every interval (:func:`all_bars_query`) with ``x``."""


def indicators_type(config: BarsJobConfig) -> str:
    """The SQL type of the bars' ``x``: one nullable DOUBLE per indicator."""
    return "ROW<" + ", ".join(f"{name} DOUBLE" for name in config.indicator_names) + ">"


def bars_sink_ddl(config: BarsJobConfig, interval: str) -> str:
    """One interval's bars topic: JSON of ``encode_bar``, keyed by symbol, timed at the window start."""
    x = f" x {indicators_type(config)}," if config.indicators else ""
    return f"""CREATE TEMPORARY TABLE {_sink_name(interval)} (
  v INT, s STRING, i STRING, t BIGINT, o DOUBLE, h DOUBLE, l DOUBLE, c DOUBLE, q DOUBLE, n BIGINT, r INT,{x}
  record_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
) WITH (
  {_kafka(config.bars_topic(interval), config)},
  {_exactly_once(config, f"bars-{interval}")},
  'key.format' = 'raw',
  'key.fields' = 's',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)"""


def dead_letters_sink_ddl(config: BarsJobConfig) -> str:
    """The dead-letter topic: the JSON of quanta.streaming.schema.encode_dead_letter, keyed as the tick."""
    return f"""CREATE TEMPORARY TABLE dead_letters (
  v INT, reason STRING, detail STRING, `key` STRING, payload STRING
) WITH (
  {_kafka(config.dead_letter_topic, config)},
  {_exactly_once(config, "dlq")},
  'key.format' = 'raw',
  'key.fields' = 'key',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)"""


BAR_COLUMNS = ("v", "s", "i", "t", "o", "h", "l", "c", "q", "n", "r")
"""The columns of :func:`bars_query`, in order (the JSON v1 bar's fields but ``x``)."""


def bars_query(interval: str) -> str:
    """One interval's bars: event-time tumbling windows per symbol (columns :data:`BAR_COLUMNS`)."""
    width = interval_ms(interval)
    price_at = _PAD_TS + _PAD_SEQ + 1
    return f"""SELECT {SCHEMA_VERSION} AS v, symbol AS s, {_q(interval)} AS i,
  MIN(ts - MOD(ts, {width})) AS t,
  CAST(SUBSTRING(MIN(order_key) FROM {price_at}) AS DOUBLE) AS o, MAX(price) AS h, MIN(price) AS l,
  CAST(SUBSTRING(MAX(order_key) FROM {price_at}) AS DOUBLE) AS c, SUM(size) AS q, COUNT(*) AS n, 0 AS r
FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(`rowtime`), {_interval_literal(width)}))
GROUP BY symbol, window_start, window_end"""  # noqa: S608


def all_bars_query(config: BarsJobConfig) -> str:
    """The bars of every interval in one stream (one source read feeds the indicator function)."""
    return "\nUNION ALL\n".join(bars_query(interval) for interval in config.intervals)


def bars_insert(interval: str, config: BarsJobConfig | None = None) -> str:
    """One interval's bars into its topic: straight from :func:`bars_query`, or, with indicators, from
    the view :data:`INDICATED_VIEW` that the job registers (the bars through the indicator function)."""
    columns = ", ".join(BAR_COLUMNS)
    if config is None or not config.indicators:
        source = f"({bars_query(interval)})"
    else:
        source, columns = f"{INDICATED_VIEW} WHERE i = {_q(interval)}", f"{columns}, x"
    return f"""INSERT INTO {_sink_name(interval)}
SELECT {columns}, TO_TIMESTAMP_LTZ(t, 3) FROM {source}"""  # noqa: S608


def _late(interval: str, config: BarsJobConfig) -> tuple[str, str]:
    """(the tick missed its window of ``interval``, the detail's part for it)."""
    width = interval_ms(interval)
    end = f"(ts - MOD(ts, {width}) + {width})"
    condition = f"TO_TIMESTAMP_LTZ({end} - 1, 3) <= CURRENT_WATERMARK(`rowtime`)"
    # The aggregator's watermark (max t - out_of_orderness - 1) is Flink's plus the allowed lateness.
    watermark_ms = (
        "(TIMESTAMPDIFF(SECOND, TO_TIMESTAMP_LTZ(0, 3), CURRENT_WATERMARK(`rowtime`)) * 1000 "
        f"+ EXTRACT(MILLISECOND FROM CURRENT_WATERMARK(`rowtime`)) + {config.allowed_lateness_ms})"
    )
    part = (
        f"CASE WHEN {condition} THEN '{interval} window ending ' || CAST({end} AS STRING) "
        f"|| ', watermark ' || CAST({watermark_ms} AS STRING) END"
    )
    return condition, part


def dead_letters_insert(config: BarsJobConfig) -> str:
    """Malformed records and ticks too late for at least one interval (one letter per record)."""
    late = [_late(interval, config) for interval in config.intervals]
    any_late = " OR ".join(f"({condition})" for condition, _ in late)
    windows = f"CONCAT_WS('; ', {', '.join(part for _, part in late)})"
    late_detail = (
        "symbol || ' tick at ' || CAST(ts AS STRING) || ' arrived after its window closed ('"
        f" || {windows} || ')'"
    )
    return f"""INSERT INTO dead_letters
SELECT {SCHEMA_VERSION}, fault, detail, `key`, TO_BASE64(`value`) FROM checked WHERE fault IS NOT NULL
UNION ALL
SELECT {SCHEMA_VERSION}, 'late', {late_detail}, `key`, TO_BASE64(`value`) FROM ticks WHERE {any_late}"""  # noqa: S608


def statements(config: BarsJobConfig) -> tuple[list[str], list[str]]:
    """``(DDL and views, INSERTs)`` of the job; the INSERTs run together as one Flink job.

    With indicators, the bars INSERTs read the view :data:`INDICATED_VIEW`, which the job registers
    (:func:`all_bars_query` through :mod:`pipelines.flink.indicators`) between the DDL and the INSERTs.
    """
    ddl = [
        source_ddl(config),
        checked_view(),
        ticks_view(),
        *(bars_sink_ddl(config, interval) for interval in config.intervals),
        dead_letters_sink_ddl(config),
    ]
    inserts = [*(bars_insert(interval, config) for interval in config.intervals), dead_letters_insert(config)]
    return ddl, inserts


def parse(argv: Sequence[str] | None = None) -> tuple[BarsJobConfig, bool]:
    """The configuration and the ``--explain`` flag from a command line."""
    args = parser().parse_args(argv)
    return config_from_args(args), bool(args.explain)
