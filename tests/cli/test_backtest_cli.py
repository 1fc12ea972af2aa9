"""``quanta backtest``, ``quanta runs`` and ``quanta report`` end to end on the bundled data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from quanta import Backtest
from quanta.examples import example
from quanta.loading import load_strategy
from quanta.runs import result_json
from tests.cli.conftest import Invoke

SMA_CROSS = example("sma_cross").path


def test_json_statistics_equal_an_in_process_backtest(quanta: Invoke, goog_frame: pd.DataFrame) -> None:
    out = quanta(
        "backtest", SMA_CROSS, "--symbol", "GOOG", "--commission", "0.002", "--param", "fast=12", "--json"
    )
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    strategy = load_strategy(SMA_CROSS)
    expected = result_json(
        Backtest({"GOOG": goog_frame}, strategy, cash=10_000.0, commission=0.002).run(fast=12)
    )
    assert got["run_id"]
    del got["run_id"]
    assert got == json.loads(json.dumps(expected))
    for name in ("Return [%]", "# Trades", "Sharpe Ratio", "Max. Drawdown [%]", "Equity Final [$]"):
        assert name in got
    assert got["trades"][0]["symbol"] == "GOOG"
    assert got["receipt"]["strategy"] == "quanta.examples.sma_cross.SmaCross"


def test_backtest_prints_a_table_and_saves_the_run(quanta: Invoke) -> None:
    out = quanta("backtest", SMA_CROSS, "--start", "2010-01-01", "--end", "2012-12-31", "--trade-on-close")
    assert out.exit_code == 0, out.output
    assert "Sharpe Ratio" in out.output
    assert "2010-01-04" in out.output
    run_id = re.search(r"Saved run (\w+)", out.output).group(1)  # type: ignore[union-attr]
    listed = quanta("runs", "list")
    assert run_id in listed.output
    assert "SmaCross" in listed.output
    shown = quanta("runs", "show", run_id[:8], "--json")
    assert shown.exit_code == 0, shown.output
    stored = json.loads(shown.output)
    assert stored["run_id"] == run_id
    assert stored["options"] == {"cash": 10000.0, "commission": 0.0, "trade_on_close": True}
    assert stored["Start"] == "2010-01-04T00:00:00"


def test_no_save_leaves_the_store_empty(quanta: Invoke) -> None:
    out = quanta("backtest", SMA_CROSS, "--no-save", "--json")
    assert json.loads(out.output)["run_id"] is None
    assert "0 runs" in quanta("runs", "list").output


def test_report_is_one_self_contained_html_file(quanta: Invoke, tmp_path: Path) -> None:
    run_id = json.loads(quanta("backtest", SMA_CROSS, "--json").output)["run_id"]
    out = quanta("report", run_id, "-o", tmp_path / "r.html")
    assert out.exit_code == 0, out.output
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") >= 3
    assert "Monthly returns" in page
    assert "Sharpe Ratio" in page
    assert "strategy_sha256" in page
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r"(src|href)=\"https?:", page)
    default = quanta("report", run_id)
    assert (tmp_path / f"report-{run_id}.html").exists(), default.output


def test_several_symbols_are_aligned_and_named(quanta: Invoke) -> None:
    out = quanta("backtest", example("momentum_rotation").path, "--json", "--no-save")
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert {t["symbol"] for t in got["trades"]} <= {"AAPL", "GOOG", "IBM", "MSFT"}
    assert got["Start"] == "2004-08-19T00:00:00"


def test_misspelt_parameter_exits_2_with_a_hint(quanta: Invoke) -> None:
    out = quanta("backtest", SMA_CROSS, "--param", "fsat=3")
    assert out.exit_code == 2
    assert "Did you mean: fast?" in out.output
    assert "Traceback" not in out.output


def test_mistyped_parameter_exits_2(quanta: Invoke) -> None:
    out = quanta("backtest", SMA_CROSS, "--param", "fast=ten")
    assert out.exit_code == 2
    assert "SmaCross.fast expects int" in out.output


def test_a_failing_strategy_shows_the_users_file_and_line(quanta: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "oops.py"
    source.write_text(
        "from quanta import Strategy\n\n\nclass Oops(Strategy):\n    def next(self):\n"
        "        if self.bar == 10:\n            self.missing_method()\n"
    )
    out = quanta("backtest", source, "--symbol", "GOOG")
    assert out.exit_code == 1
    assert f'File "{source}", line 7' in out.output
    assert "self.missing_method()" in out.output
    assert "AttributeError" in out.output
    assert "Traceback" not in out.output


def test_a_file_with_several_strategies_needs_class(quanta: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "two.py"
    source.write_text(
        "from quanta import Strategy\n\n\nclass Base(Strategy):\n    n = 1\n\n\nclass One(Base):\n"
        "    def next(self):\n        pass\n\n\nclass Two(Strategy):\n    def next(self):\n        pass\n"
    )
    out = quanta("backtest", source, "--symbol", "GOOG")
    assert out.exit_code == 1
    assert "several strategies (One, Two)" in out.output
    assert quanta("backtest", source, "--symbol", "GOOG", "--class", "Two", "--no-save").exit_code == 0
    wrong = quanta("backtest", source, "--symbol", "GOOG", "--class", "Tow")
    assert "Did you mean: Two?" in wrong.output


def test_a_syntax_error_points_at_the_line(quanta: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("from quanta import Strategy\n\nclass X(Strategy)\n    pass\n")
    out = quanta("backtest", source, "--symbol", "GOOG")
    assert out.exit_code == 1
    assert "syntax error" in out.output
    assert "line 3" in out.output


def test_unknown_symbol_and_empty_range_are_clear(quanta: Invoke) -> None:
    unknown = quanta("backtest", SMA_CROSS, "--symbol", "GOGL")
    assert unknown.exit_code == 1
    assert "did you mean 'GOOG'" in unknown.output
    empty = quanta("backtest", SMA_CROSS, "--symbol", "GOOG", "--start", "2020-01-01")
    assert empty.exit_code == 1
    assert "GOOG has bars from 2004-08-19 to 2013-03-01" in empty.output


def test_a_file_without_symbols_needs_symbol(quanta: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "plain.py"
    source.write_text(
        "from quanta import Strategy\n\n\nclass Plain(Strategy):\n    def next(self):\n        pass\n"
    )
    out = quanta("backtest", source)
    assert out.exit_code == 2
    assert "--symbol" in out.output


def test_runs_delete_and_unknown_run(quanta: Invoke) -> None:
    run_id = json.loads(quanta("backtest", SMA_CROSS, "--json").output)["run_id"]
    assert quanta("runs", "delete", run_id).exit_code == 0
    missing = quanta("runs", "show", run_id)
    assert missing.exit_code == 1
    assert "no run" in missing.output
    assert quanta("report", "zzzzzz").exit_code == 1
