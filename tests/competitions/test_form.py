"""The create form of /competitions parses into the terms the service takes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from quanta.competitions.errors import InvalidInput
from quanta.competitions.models import Metric, Mode
from state.competitions import competition_in

FORM = {
    "title": "Desk Derby",
    "symbols": "goog, aapl",
    "starts_at": "2027-03-01T14:30",
    "minutes": "90",
    "capital": "50000",
    "commission_pct": "0.1",
    "slippage_bps": "2",
    "order_market": "on",
    "order_limit": "on",
    "metric": "return-drawdown",
    "drawdown_limit_pct": "15",
    "max_entries": "2",
    "replay_start": "2011-01-03",
    "replay_end": "2011-06-30",
}


def test_the_form_gives_the_terms() -> None:
    terms = competition_in(FORM)
    assert terms.starts_at == datetime(2027, 3, 1, 14, 30, tzinfo=UTC)
    assert terms.ends_at - terms.starts_at == timedelta(minutes=90)
    assert (terms.symbols, terms.mode, terms.metric) == (
        ["goog", "aapl"],
        Mode.REPLAY,
        Metric.RETURN_DRAWDOWN,
    )
    assert (terms.commission, terms.slippage_bps, terms.drawdown_limit_pct) == (0.001, 2.0, 15.0)
    assert [k.value for k in terms.order_types] == ["market", "limit"]
    assert (terms.replay_start, terms.max_entries_per_user, terms.capital) == (date(2011, 1, 3), 2, 50_000.0)


def test_a_start_that_is_not_a_time_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="starts at"):
        competition_in({**FORM, "starts_at": "soon"})
