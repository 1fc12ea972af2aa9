"""The Flink job's settings and SQL, checked in the app's environment (no JVM, no broker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.flink import bars, paths
from quanta.streaming import BarConfig, IndicatorSpec, Topics, interval_ms


def test_job_defaults_equal_the_apps_bar_config_and_topics() -> None:
    config = bars.BarsJobConfig(bootstrap="127.0.0.1:9092", namespace="ns.")
    app, topics = BarConfig(), Topics(namespace="ns.")
    assert config.intervals == app.intervals
    assert config.out_of_orderness_ms == app.out_of_orderness_ms
    assert config.allowed_lateness_ms == app.allowed_lateness_ms
    assert config.ticks_topic == topics.ticks
    assert config.dead_letter_topic == topics.dead_letters
    assert [config.bars_topic(i) for i in app.intervals] == [topics.bars(i) for i in app.intervals]
    assert config.indicators == app.indicators
    assert config.indicator_names == [IndicatorSpec.parse(spec).key for spec in app.indicators]


@pytest.mark.parametrize("specs", [("WMA:5",), ("SMA:0",), ("SMA:5", "SMA:5"), ("sma:5",)])
def test_unknown_or_repeated_indicators_are_refused(specs: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="NAME:PERIOD"):
        bars.BarsJobConfig(bootstrap="b", indicators=specs)


def test_with_indicators_the_bars_reach_their_topics_through_the_indicator_view() -> None:
    config = bars.BarsJobConfig(bootstrap="b")
    ddl, inserts = bars.statements(config)
    assert "x ROW<sma_20 DOUBLE, ema_20 DOUBLE, rsi_14 DOUBLE>," in ddl[3]
    assert f"FROM {bars.INDICATED_VIEW} WHERE i = '1s'" in inserts[0]
    plain = bars.statements(bars.BarsJobConfig(bootstrap="b", indicators=()))
    assert " x " not in plain[0][3]
    assert bars.INDICATED_VIEW not in plain[1][0]


@pytest.mark.parametrize("interval", ["1s", "15s", "1m", "5m", "1h"])
def test_interval_widths_equal_quanta_streaming(interval: str) -> None:
    assert bars.interval_ms(interval) == interval_ms(interval)


def test_command_line_round_trips_the_config(tmp_path: Path) -> None:
    config = bars.BarsJobConfig(
        bootstrap="127.0.0.1:1",
        namespace="x.",
        intervals=("1s", "5m"),
        out_of_orderness_ms=7,
        allowed_lateness_ms=0,
        checkpoint_dir=tmp_path / "ck",
        restore_from=tmp_path / "ck" / "job" / "chk-3",
        extra={"pipeline.name": "bars"},
    )
    parsed, explain = bars.parse(bars.command_args(config))
    assert parsed == config
    assert not explain


def test_watermark_trails_by_out_of_orderness_one_millisecond_and_the_lateness() -> None:
    config = bars.BarsJobConfig(bootstrap="b", out_of_orderness_ms=500, allowed_lateness_ms=2000)
    assert "`rowtime` - INTERVAL '0 00:00:02.501' DAY TO SECOND" in bars.source_ddl(config)


def test_every_sink_is_exactly_once_with_its_own_transactional_id() -> None:
    config = bars.BarsJobConfig(bootstrap="b", transactional_id_prefix="p")
    ddl, inserts = bars.statements(config)
    sinks = [statement for statement in ddl if "'sink.delivery-guarantee' = 'exactly-once'" in statement]
    assert len(sinks) == len(config.intervals) + 1
    prefixes = {s.split("'sink.transactional-id-prefix' = '")[1].split("'")[0] for s in sinks}
    assert prefixes == {"p-bars-1s", "p-bars-1m", "p-dlq"}
    assert len(inserts) == len(config.intervals) + 1


@pytest.mark.flink
def test_quanta_streaming_operators_import_in_the_flink_environment() -> None:
    python = paths.flink_python()
    heavy = "{'ibis', 'duckdb', 'reflex', 'numba', 'polars'}"
    code = (
        "import sys, quanta.streaming.operators, quanta.streaming.schema; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    )
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", "quanta.streaming pulls the app's data stack into .venv-flink"
